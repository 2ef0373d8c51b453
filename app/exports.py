"""Cells of CSV and Excel exports, made safe against formula injection.

A text cell beginning with = + - @ (or a tab / carriage return that spreadsheet programs
skip) is run as a formula when the file is opened: `=HYPERLINK(...)` in an enterprise name
would leak data or run commands on the reader's machine. Such text gets a leading
apostrophe, which spreadsheets show as text. Numbers stay numbers (a negative number is not
text and is never a formula).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
