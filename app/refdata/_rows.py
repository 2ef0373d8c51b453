"""Row-level parsing helpers shared by the reference-data loaders.

Why a separate module: every loader needs the same strict parsing (exact header,
no stray columns, Decimal never float, ISO dates) and the same error format, so a
bad cell is reported identically as ``file:line: field: message`` wherever it is.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


def data_file(data_dir: Path | None, name: str) -> Path:
    """A data file in ``data_dir``, defaulting to this package's own directory."""
    return (DATA_DIR if data_dir is None else Path(data_dir)) / name


class RefDataError(ValueError):
    """A reference-data file is malformed; names the file, line (or JSON path) and field."""

    def __init__(self, file: str, line: int | str, field: str, message: str) -> None:
        self.file, self.line, self.field = file, line, field
        super().__init__(f"{file}:{line}: {field}: {message}")


@dataclass(frozen=True, slots=True)
class Row:
    """One CSV data row with its file name and physical line number, for error messages."""

    file: str
    line: int
    data: dict[str, str]

    def fail(self, field: str, message: str) -> RefDataError:
        return RefDataError(self.file, self.line, field, message)

    def opt(self, field: str) -> str | None:
        value = self.data[field]
        return value or None

    def req(self, field: str) -> str:
        value = self.data[field]
        if not value:
            raise self.fail(field, "required value is empty")
        return value

    def choice(self, field: str, allowed: frozenset[str] | set[str]) -> str:
        value = self.req(field)
        if value not in allowed:
            raise self.fail(field, f"{value!r} is not one of {sorted(allowed)}")
        return value

    def dec(self, field: str, *, required: bool = False) -> Decimal | None:
        raw = self.data[field]
        if not raw:
            if required:
                raise self.fail(field, "required number is empty")
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise self.fail(field, f"{raw!r} is not a decimal number") from None
        if not value.is_finite():
            raise self.fail(field, f"{raw!r} is not a finite number")
        return value

    def integer(self, field: str) -> int:
        raw = self.req(field)
        if not raw.isdigit():
            raise self.fail(field, f"{raw!r} is not a whole number")
        return int(raw)

    def day(self, field: str) -> date | None:
        raw = self.opt(field)
        if raw is None:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise self.fail(field, f"{raw!r} is not an ISO date (YYYY-MM-DD)") from None

    def codes(self, field: str) -> tuple[str, ...]:
        """A semicolon-separated list, e.g. ``4411;4412``; empty items are an error."""
        parts = tuple(p.strip() for p in self.req(field).split(";"))
        if any(not p for p in parts):
            raise self.fail(field, "empty item in semicolon-separated list")
        if len(set(parts)) != len(parts):
            raise self.fail(field, "duplicate item in list")
        return parts


def read_rows(path: Path, columns: tuple[str, ...]) -> Iterator[Row]:
    """Yield the data rows of a UTF-8 CSV whose header must be exactly ``columns``."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = tuple(reader.fieldnames or ())
        if header != columns:
            raise RefDataError(
                path.name, 1, "header", f"expected {','.join(columns)}, got {','.join(header)}"
            )
        for raw in reader:
            if None in raw or any(v is None for v in raw.values()):
                raise RefDataError(path.name, reader.line_num, "row", "wrong number of fields")
            yield Row(path.name, reader.line_num, {k: v.strip() for k, v in raw.items()})


def check_unique(seen: dict[str, int], key: str, row: Row, field: str) -> None:
    """Record ``key`` as seen on this row, failing if an earlier row already had it."""
    if key in seen:
        raise row.fail(field, f"duplicate {key!r} (first on line {seen[key]})")
    seen[key] = row.line
