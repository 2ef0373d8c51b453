"""Versions and checksums of the reference-data files (manifest.json).

Why: a figure that changes must change visibly. Each data file has a version, an
"as of" date and a SHA-256; ``verify_manifest`` fails when a file was edited without
updating its entry, so data changes cannot slip in unreviewed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from app.refdata._rows import DATA_DIR, RefDataError

FILE = "manifest.json"
DATA_SUFFIXES = (".csv", ".json")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One data file: its version, the date its content is current as of, and its SHA-256."""

    file: str
    version: str
    as_of: str
    sha256: str


def _data_dir(data_dir: Path | None) -> Path:
    return DATA_DIR if data_dir is None else Path(data_dir)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(data_dir: Path | None = None) -> dict[str, FileEntry]:
    """The manifest entries by file name."""
    doc = json.loads((_data_dir(data_dir) / FILE).read_text(encoding="utf-8"))
    entries: dict[str, FileEntry] = {}
    for name, meta in doc.get("files", {}).items():
        if not all(
            isinstance(meta.get(k), str) and meta[k] for k in ("version", "as_of", "sha256")
        ):
            raise RefDataError(FILE, f"files.{name}", "entry", "needs version, as_of and sha256")
        entries[name] = FileEntry(name, meta["version"], meta["as_of"], meta["sha256"])
    return entries


def verify_manifest(data_dir: Path | None = None) -> dict[str, FileEntry]:
    """Check every data file is listed and unchanged since its manifest entry was written."""
    directory = _data_dir(data_dir)
    entries = load_manifest(directory)
    present = {p.name for p in directory.iterdir() if p.suffix in DATA_SUFFIXES and p.name != FILE}
    for name in sorted(present - entries.keys()):
        raise RefDataError(
            FILE, f"files.{name}", "entry", "data file is not listed in the manifest"
        )
    for name, entry in sorted(entries.items()):
        path = directory / name
        if not path.exists():
            raise RefDataError(FILE, f"files.{name}", "entry", "listed file does not exist")
        if sha256_of(path) != entry.sha256:
            raise RefDataError(
                FILE,
                f"files.{name}",
                "sha256",
                "file changed since its manifest entry: bump 'version' and update 'sha256'",
            )
    return entries


def update_entry(name: str, version: str, as_of: str, data_dir: Path | None = None) -> FileEntry:
    """Record a reviewed change to ``name``: new version, as-of date and current SHA-256."""
    directory = _data_dir(data_dir)
    path = directory / FILE
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not (directory / name).exists():
        raise RefDataError(FILE, f"files.{name}", "entry", "no such data file")
    entry = {"version": version, "as_of": as_of, "sha256": sha256_of(directory / name)}
    doc.setdefault("files", {})[name] = entry
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return FileEntry(name, version, as_of, entry["sha256"])
