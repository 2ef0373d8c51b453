"""Bulk importers by kind, for `cecp import KIND FILE` (R-9.2d).

An importer validates every row first and writes nothing unless all rows are valid; it
returns {"ok": bool, "rows": int, "errors": [{"row": n, "field": f, "message": m}]}.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

IMPORTERS: dict[str, Callable[[Path], dict]] = {}


def importer(kind: str) -> Callable[[Callable[[Path], dict]], Callable[[Path], dict]]:
    def register(fn: Callable[[Path], dict]) -> Callable[[Path], dict]:
        IMPORTERS[kind] = fn
        return fn

    return register
