"""A public institution's greenhouse-gas inventory (ISO 14064-1:2018, 5.2): per month and
year, scope 1 (direct: fuels burnt on site and in own vehicles), scope 2 (indirect: purchased
electricity and heat), biomass CO2 reported apart, and energy in tce — every figure with the
lines, factors (and their sources) and formulas it comes from.

Figures are Decimal; totals are sums of the stored lines (each rounded half-up to 6 places
by the engine), so the year equals the sum of its months exactly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.energy.models import EnergyType
from app.extensions import db
from app.institutions.service import SCOPE_OF, month_lines
from app.monitoring.models import InstitutionEnergy
from app.orgs.models import Institution

ZERO = Decimal(0)
KEYS = ("scope1", "scope2", "biomass", "total", "tce")


def _scope_of(row: InstitutionEnergy, categories: dict[str, str]) -> int | None:
    """Stored derivation first; rows written before it existed: by energy category."""
    if row.derivation and "scope" in row.derivation:
        return row.derivation["scope"]
    cat = categories.get(row.item, "")
    if cat == "biomass":
        return None
    return 2 if cat in ("electricity", "heat") else 1


def _categories() -> dict[str, str]:
    return dict(db.session.execute(select(EnergyType.code, EnergyType.category)).all())


def _names() -> dict[str, str]:
    return dict(db.session.execute(select(EnergyType.code, EnergyType.name)).all())


def _empty() -> dict[str, Decimal]:
    return {k: ZERO for k in KEYS}


def _add(acc: dict[str, Decimal], row: InstitutionEnergy, scope: int | None,
         biomass: bool) -> None:
    if biomass:
        acc["biomass"] += row.co2 or ZERO  # stored as 0: the derivation keeps the figure
    elif scope == 1:
        acc["scope1"] += row.co2
    elif scope == 2:
        acc["scope2"] += row.co2
    acc["total"] = acc["scope1"] + acc["scope2"]
    acc["tce"] += row.tce


def inventory(*, institution: Institution, year: int) -> dict[str, Any]:
    """The year's inventory: months (figures + lines with derivations) and the total."""
    cats, names = _categories(), _names()
    months: dict[int, dict[str, Any]] = {}
    total = _empty()
    for row in month_lines(institution=institution, year=year):
        scope = _scope_of(row, cats)
        biomass = cats.get(row.item) == "biomass"
        m = months.setdefault(row.month, {"month": row.month, **_empty(), "lines": []})
        _add(m, row, scope, biomass)
        _add(total, row, scope, biomass)
        m["lines"].append(line_view(row, scope, names.get(row.item, row.item)))
    return {"institution": institution.code, "name": institution.name, "year": year,
            "months": [months[k] for k in sorted(months)], "months_reported": len(months),
            **total,
            "units": {"co2": "tCO2", "energy": "tce"},
            "method": "ISO 14064-1:2018 组织层级温室气体清单；排放量按 GB/T 32150-2015 核算："
                      "范围一 = 燃料消耗量 × 低位发热量 × 单位热值含碳量 × 碳氧化率 × 44/12；"
                      "范围二 = 外购电力/热力 × 排放因子；生物质燃烧 CO2 单列，不计入总量"}


def line_view(row: InstitutionEnergy, scope: int | None,
              name: str | None = None) -> dict[str, Any]:
    d = row.derivation or {}
    return {"item": row.item, "name": name or row.item, "unit": row.unit,
            "amount": row.amount, "co2": row.co2, "tce": row.tce, "scope": scope,
            "flow": d.get("flow"),
            "formula": d.get("formula"), "tce_formula": d.get("tce_formula"),
            "factor": d.get("factor"), "factor_note": d.get("factor_note"),
            "source": row.source, "verified": row.verified}


def annual_totals(institution_ids: list[int]) -> dict[tuple[int, int], dict[int, tuple]]:
    """{(institution id, year): {month: (co2 scope 1+2, tce)}} in one query."""
    if not institution_ids:
        return {}
    cats = _categories()
    out: dict[tuple[int, int], dict[int, list]] = {}
    for row in db.session.execute(select(
            InstitutionEnergy.institution_id, InstitutionEnergy.year, InstitutionEnergy.month,
            InstitutionEnergy.item, InstitutionEnergy.co2, InstitutionEnergy.tce).where(
            InstitutionEnergy.institution_id.in_(institution_ids))):
        cell = out.setdefault((row.institution_id, row.year), {}).setdefault(
            row.month, [ZERO, ZERO])
        if cats.get(row.item) != "biomass":
            cell[0] += row.co2
        cell[1] += row.tce
    return {k: {m: (c, t) for m, (c, t) in v.items()} for k, v in out.items()}


def as_json(value: Any) -> Any:
    """Decimals as strings, recursively (JSON snapshots and API bodies)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value


__all__ = ["SCOPE_OF", "annual_totals", "as_json", "inventory", "line_view"]
