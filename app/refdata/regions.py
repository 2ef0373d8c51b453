"""GB/T 2260 administrative divisions and the regional power grids built from them.

Why: data scope (who may see which enterprise), regional monitoring and the choice of a
provincial or regional electricity factor all hinge on one validated region table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.refdata._rows import Row, check_unique, data_file, read_rows

REGION_LEVELS = {"province": 0, "city": 1, "county": 2}


@dataclass(frozen=True, slots=True)
class Region:
    """A GB/T 2260 administrative division (province, prefecture city or county/district)."""

    code: str
    name: str
    name_en: str
    level: str
    parent_code: str | None


def region_prefix(code: str) -> str:
    """The significant GB/T 2260 prefix: '330000'->'33', '330500'->'3305', '330502'->'330502'."""
    if not re.fullmatch(r"\d{6}", code or ""):
        raise ValueError(f"not a 6-digit GB/T 2260 code: {code!r}")
    if code[2:] == "0000":
        return code[:2]
    if code[4:] == "00":
        return code[:4]
    return code


def province_code(code: str) -> str:
    """The provincial-level code containing ``code`` ('330502' -> '330000')."""
    return region_prefix(code)[:2] + "0000"


@cache
def load_regions(data_dir: Path | None = None) -> tuple[Region, ...]:
    """regions.csv: unique 6-digit codes, parent one level up whose prefix the child shares."""
    rows: list[tuple[Row, Region]] = []
    seen: dict[str, int] = {}
    for row in read_rows(
        data_file(data_dir, "regions.csv"), ("code", "name", "name_en", "level", "parent_code")
    ):
        code = row.req("code")
        if not re.fullmatch(r"\d{6}", code):
            raise row.fail("code", f"{code!r} is not a 6-digit GB/T 2260 code")
        check_unique(seen, code, row, "code")
        region = Region(
            code,
            row.req("name"),
            row.req("name_en"),
            row.choice("level", set(REGION_LEVELS)),
            row.opt("parent_code"),
        )
        rows.append((row, region))
    by_code = {r.code: r for _, r in rows}
    for row, region in rows:
        depth = len(region_prefix(region.code)) // 2 - 1
        if depth != REGION_LEVELS[region.level]:
            raise row.fail(
                "level", f"{region.level!r} does not match the shape of code {region.code}"
            )
        if region.level == "province":
            if region.parent_code is not None:
                raise row.fail("parent_code", "a province has no parent")
            continue
        parent = by_code.get(region.parent_code or "")
        if parent is None:
            raise row.fail("parent_code", f"unknown parent code {region.parent_code!r}")
        if REGION_LEVELS[parent.level] != REGION_LEVELS[region.level] - 1:
            raise row.fail(
                "parent_code", f"parent {parent.code} is a {parent.level}, one level up expected"
            )
        if not region.code.startswith(region_prefix(parent.code)):
            raise row.fail("parent_code", f"code {region.code} is not inside parent {parent.code}")
    return tuple(r for _, r in rows)


@dataclass(frozen=True, slots=True)
class GridRegion:
    """A regional power grid used by the MEE/NBS electricity factors, with member code prefixes."""

    id: str
    name: str
    name_en: str
    members: tuple[str, ...]
    source: str
    note: str


@cache
def load_grid_regions(data_dir: Path | None = None) -> tuple[GridRegion, ...]:
    """grid_regions.csv: members are GB/T 2260 prefixes of known provinces, in one grid only."""
    provinces = {r.code[:2] for r in load_regions(data_dir) if r.level == "province"}
    grids: list[GridRegion] = []
    seen: dict[str, int] = {}
    owner: dict[str, int] = {}
    cols = ("id", "name", "name_en", "members", "source", "note")
    for row in read_rows(data_file(data_dir, "grid_regions.csv"), cols):
        gid = row.req("id")
        check_unique(seen, gid, row, "id")
        members = row.codes("members")
        for m in members:
            if not re.fullmatch(r"\d{2}|\d{4}", m) or m[:2] not in provinces:
                raise row.fail("members", f"{m!r} is not a prefix of a known province")
            for other in owner:
                if m.startswith(other) or other.startswith(m):
                    raise row.fail("members", f"{m!r} overlaps {other!r} (line {owner[other]})")
            owner[m] = row.line
        grids.append(
            GridRegion(
                gid,
                row.req("name"),
                row.req("name_en"),
                members,
                row.req("source"),
                row.data["note"],
            )
        )
    return tuple(grids)


def grid_region_of(code: str, data_dir: Path | None = None) -> str | None:
    """The grid id whose member prefix is the longest match for a region code, if any."""
    best: tuple[int, str] | None = None
    for grid in load_grid_regions(data_dir):
        for m in grid.members:
            if code.startswith(m) and (best is None or len(m) > best[0]):
                best = (len(m), grid.id)
    return best[1] if best else None


@cache
def division_codes(data_dir: Path | None = None) -> frozenset[str]:
    """Every GB/T 2260 code down to county level (gb2260.csv, the full national list).

    Why a second file: regions.csv holds the divisions the platform seeds with English
    names; a data-scope grant or an enterprise's region may name any division of the
    country, so it is checked against the full list."""
    codes: set[str] = set()
    seen: dict[str, int] = {}
    levels: dict[str, str] = {}
    rows = list(
        read_rows(data_file(data_dir, "gb2260.csv"), ("code", "name", "level", "parent_code"))
    )
    for row in rows:
        code = row.req("code")
        if not re.fullmatch(r"\d{6}", code):
            raise row.fail("code", f"{code!r} is not a 6-digit GB/T 2260 code")
        check_unique(seen, code, row, "code")
        row.req("name")
        levels[code] = row.choice("level", set(REGION_LEVELS))
        codes.add(code)
    for row in rows:
        code, parent = row.data["code"], row.opt("parent_code")
        if levels[code] == "province":
            continue
        if parent not in levels or REGION_LEVELS[levels[parent]] != REGION_LEVELS[levels[code]] - 1:
            raise row.fail("parent_code", f"unknown or wrong-level parent {parent!r}")
        if not code.startswith(region_prefix(parent)):
            raise row.fail("parent_code", f"code {code} is not inside parent {parent}")
    return frozenset(codes)


def validate_region_code(code: str) -> str:
    """The code if it is a GB/T 2260 division, else ValueError with a Chinese message (a
    wildcard or a bare prefix such as '33' or '33%' is refused: a scope entry is a code)."""
    code = (code or "").strip() if isinstance(code, str) else ""
    if not re.fullmatch(r"\d{6}", code):
        raise ValueError(
            f"「{code}」不是行政区划代码：应为 GB/T 2260 的 6 位数字代码（如 330000 浙江省、"
            "330500 湖州市），不接受通配符或前缀"
        )
    if code not in division_codes():
        raise ValueError(f"「{code}」不在 GB/T 2260 行政区划代码表中")
    return code
