"""Make the repository root importable and give tests a writable copy of the data.

Why: these tests run without installing the package or creating the Flask app.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of app/refdata's data files that a test may corrupt."""
    from app.refdata import DATA_DIR

    target = tmp_path / "refdata"
    target.mkdir()
    for p in DATA_DIR.iterdir():
        if p.suffix in (".csv", ".json"):
            shutil.copy(p, target / p.name)
    return target
