"""GB/T 4754-2017 industries and the national-carbon-market key sectors mapped onto them.

Why: the carbon-efficiency code compares an enterprise with its industry, and R-7a
requires the eight key sectors to be identified by GB/T 4754-2017 codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.refdata._rows import Row, check_unique, data_file, read_rows

INDUSTRY_LEVELS = ("section", "division", "group", "class")
_INDUSTRY_CODE = {
    "section": re.compile(r"[A-T]"),
    "division": re.compile(r"\d{2}"),
    "group": re.compile(r"\d{3}"),
    "class": re.compile(r"\d{4}"),
}
_ID = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Industry:
    """A GB/T 4754-2017 entry; ``sector`` is the key-sector id when it belongs to one."""

    code: str
    name: str
    name_en: str
    level: str
    parent_code: str | None
    sector: str | None


@dataclass(frozen=True, slots=True)
class Sector:
    """A national-carbon-market key sector and the GB/T 4754-2017 codes (subtrees) it covers."""

    id: str
    name: str
    name_en: str
    codes: tuple[str, ...]
    source: str
    note: str


@cache
def _industry_rows(data_dir: Path | None) -> tuple[tuple[Row, Industry], ...]:
    rows: list[tuple[Row, Industry]] = []
    seen: dict[str, int] = {}
    cols = ("code", "name", "name_en", "level", "parent_code", "sector")
    for row in read_rows(data_file(data_dir, "industries.csv"), cols):
        level = row.choice("level", set(INDUSTRY_LEVELS))
        code = row.req("code")
        if not _INDUSTRY_CODE[level].fullmatch(code):
            raise row.fail("code", f"{code!r} is not a valid {level} code")
        check_unique(seen, code, row, "code")
        rows.append(
            (
                row,
                Industry(
                    code,
                    row.req("name"),
                    row.req("name_en"),
                    level,
                    row.opt("parent_code"),
                    row.opt("sector"),
                ),
            )
        )
    by_code = {i.code: i for _, i in rows}
    for row, ind in rows:
        if ind.level == "section":
            if ind.parent_code is not None:
                raise row.fail("parent_code", "a section has no parent")
            continue
        parent = by_code.get(ind.parent_code or "")
        if parent is None:
            raise row.fail("parent_code", f"unknown parent code {ind.parent_code!r}")
        if INDUSTRY_LEVELS.index(parent.level) != INDUSTRY_LEVELS.index(ind.level) - 1:
            raise row.fail(
                "parent_code", f"parent {parent.code} is a {parent.level}, one level up expected"
            )
        if ind.level != "division" and not ind.code.startswith(parent.code):
            raise row.fail(
                "parent_code", f"code {ind.code} does not start with parent {parent.code}"
            )
    return tuple(rows)


@cache
def load_sectors(data_dir: Path | None = None) -> tuple[Sector, ...]:
    """sectors.csv: unique ids, every listed code exists in industries.csv, a source per row."""
    known = {i.code for _, i in _industry_rows(data_dir)}
    sectors: list[Sector] = []
    seen: dict[str, int] = {}
    claimed: dict[str, int] = {}
    cols = ("id", "name", "name_en", "codes", "source", "note")
    for row in read_rows(data_file(data_dir, "sectors.csv"), cols):
        sid = row.req("id")
        if not _ID.fullmatch(sid):
            raise row.fail("id", f"{sid!r} is not a lower-case identifier")
        check_unique(seen, sid, row, "id")
        codes = row.codes("codes")
        for c in codes:
            if c not in known:
                raise row.fail("codes", f"{c!r} is not a code in industries.csv")
            check_unique(claimed, c, row, "codes")
        sectors.append(
            Sector(
                sid, row.req("name"), row.req("name_en"), codes, row.req("source"), row.data["note"]
            )
        )
    return tuple(sectors)


def _ancestry(code: str, by_code: dict[str, Industry]) -> list[str]:
    chain = []
    current: str | None = code
    while current is not None:
        chain.append(current)
        current = by_code[current].parent_code
    return chain


@cache
def load_industries(data_dir: Path | None = None) -> tuple[Industry, ...]:
    """industries.csv: tree checks, and the sector column agrees with sectors.csv both ways."""
    rows = _industry_rows(data_dir)
    by_code = {i.code: i for _, i in rows}
    owner = {c: s.id for s in load_sectors(data_dir) for c in s.codes}
    for row, ind in rows:
        expected = next((owner[c] for c in _ancestry(ind.code, by_code) if c in owner), None)
        if ind.sector != expected:
            raise row.fail("sector", f"is {ind.sector!r}, sectors.csv implies {expected!r}")
    return tuple(i for _, i in rows)
