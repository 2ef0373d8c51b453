"""Which factor version prices an activity: every factor kind resolves by the activity's
period. The rule, one for all kinds (combustion, process, heat, electricity):

* the activity date is the first day of the activity month (`month` given), else 30 June of
  the year (a whole-year calculation);
* a version is *in force* on that date when `valid_from <= date <= valid_to` (empty = open);
* combustion and process factors: per series (`code`), the newest version in force; a
  correction valid from 2025-01-01 therefore leaves 2024 with the version before it, and a
  correction with the same validity replaces it everywhere;
* heat and electricity (several series, one per data year): the version in force with the
  latest data year (`year <= activity year`), newest version first; when none is in force
  (the year's factor is not published yet) the latest earlier year, with a note.

Superseded versions take part: `status` only says which version of a series is the newest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app, has_app_context
from sqlalchemy import select

from app.energy.kinds import Factor
from app.energy.models import EmissionFactor
from app.extensions import db

# electricity factor preference chains (config CECP_ELECTRICITY_FACTOR)
ELECTRICITY_CHAINS = {
    "province": (("grid_electricity", "province"), ("grid_electricity", "grid"),
                 ("grid_electricity", "national")),
    "grid": (("grid_electricity", "grid"), ("grid_electricity", "national")),
    "national": (("grid_electricity", "national"),),
    "ets": (("grid_electricity_ets", "national"), ("grid_electricity", "national")),
}


@dataclass(frozen=True)
class Resolved:
    factors: dict[str, Factor]     # item -> factor
    notes: dict[str, str]


def _setting(name: str, default):
    if has_app_context():
        return current_app.config.get(name, default)
    return default


def activity_date(year: int, month: int | None) -> date:
    """The date a period is priced on (see the module docstring)."""
    return date(year, month, 1) if month else date(year, 6, 30)


def in_force(row: EmissionFactor, day: date) -> bool:
    return ((row.valid_from is None or row.valid_from <= day)
            and (row.valid_to is None or row.valid_to >= day))


def _newest(rows: list[EmissionFactor]) -> EmissionFactor:
    return max(rows, key=lambda r: (r.year or 0, r.version, r.id))


def pick_dated(rows: list[EmissionFactor], year: int, day: date) -> EmissionFactor | None:
    """Heat / electricity: in force with the latest data year, else the latest earlier
    year, else the earliest (an activity before every published year)."""
    if not rows:
        return None
    covering = [r for r in rows if in_force(r, day) and r.year is not None and r.year <= year]
    if covering:
        return _newest(covering)
    earlier = [r for r in rows if r.year is not None and r.year <= year]
    if earlier:
        return _newest(earlier)
    return min(rows, key=lambda r: (r.year or 0, -r.version, r.id))


def pick_series(rows: list[EmissionFactor], day: date) -> EmissionFactor | None:
    """Combustion / process: the newest version of one series in force on `day`."""
    covering = [r for r in rows if in_force(r, day)]
    return max(covering, key=lambda r: (r.version, r.id)) if covering else None


def to_engine(row: EmissionFactor) -> Factor:
    return Factor(kind=row.kind, unit=row.unit, value=row.value, ncv=row.ncv,
                  carbon_content=row.carbon_content, oxidation_rate=row.oxidation_rate,
                  id=row.id, code=row.code, version=row.version, year=row.year,
                  source=row.source)


def electricity_scopes(region_code: str | None) -> dict[str, str]:
    from app.refdata import grid_region_of, province_code

    out = {"national": "national"}
    if region_code:
        out["province"] = province_code(region_code)
        grid = grid_region_of(region_code)
        if grid:
            out["grid"] = grid
    return out


def _rows(cache: dict | None) -> list[EmissionFactor]:
    if cache is not None and "_rows" in cache:
        return cache["_rows"]
    rows = list(db.session.scalars(select(EmissionFactor)))
    if cache is not None:
        cache["_rows"] = rows
    return rows


def resolve(*, year: int, region_code: str | None, month: int | None = None,
            cache: dict | None = None) -> Resolved:
    """The factor version for every item (energy type code or process code) of an activity
    in `year` / `month` by an enterprise in `region_code`. Memoised in `cache` when given
    (one cache per unit of work: it also holds the factor rows)."""
    from app.refdata import province_code

    key = (year, month, province_code(region_code) if region_code else None,
           region_code[:4] if region_code else None)
    if cache is not None and key in cache:
        return cache[key]
    day = activity_date(year, month)
    rows = _rows(cache)
    factors: dict[str, Factor] = {}
    notes: dict[str, str] = {}
    series: dict[str, list[EmissionFactor]] = {}
    for r in rows:
        if (r.kind == "combustion" and r.energy_code) or r.kind == "process":
            series.setdefault(r.code, []).append(r)
    for versions in series.values():
        pick = pick_series(versions, day)
        if pick is not None:
            factors[pick.energy_code if pick.kind == "combustion" else pick.code] = \
                to_engine(pick)
    heat = pick_dated([r for r in rows if r.kind == "heat"], year, day)
    if heat:
        factors["heat"] = to_engine(heat)
    chain = ELECTRICITY_CHAINS.get(_setting("CECP_ELECTRICITY_FACTOR", "province"),
                                   ELECTRICITY_CHAINS["province"])
    scopes = electricity_scopes(region_code)
    for kind, level in chain:
        scope = scopes.get(level)
        if scope is None:
            continue
        pick = pick_dated([r for r in rows if r.kind == kind and r.scope == scope], year, day)
        if pick is not None:
            factors["electricity"] = to_engine(pick)
            if pick.year != year:
                notes["electricity"] = f"{year} 年因子尚未发布，采用 {pick.year} 年因子"
            break
    out = Resolved(factors, notes)
    if cache is not None:
        cache[key] = out
    return out
