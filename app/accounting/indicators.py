"""Indicators (R-4b, R-6.1.3) over current monthly facts, for an enterprise, an industry or
a region and any month / quarter / half-year / year; benchmark enterprises and reduction
potential. Everything is narrowed to the caller's data scope."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from app.accounting import engine
from app.accounting.codes import area_of, industry_of, settings
from app.accounting.models import CarbonAccount, IndustryBenchmark
from app.accounting.periods import Period
from app.extensions import db
from app.identity.scope import DataScope, region_prefix, scoped
from app.orgs.models import Enterprise, Industry

LEVELS = ("enterprise", "industry", "region")


def _filtered(level: str, code: str | None, scope: DataScope | None):
    stmt = scoped(select(CarbonAccount), CarbonAccount, scope)
    if level == "enterprise" and code:
        stmt = stmt.join(Enterprise, Enterprise.id == CarbonAccount.enterprise_id).where(
            Enterprise.uscc == code)
    elif level == "industry" and code:
        stmt = stmt.where(CarbonAccount.industry_code.startswith(code, autoescape=True))
    elif level == "region" and code:
        stmt = stmt.where(
            CarbonAccount.region_code.startswith(region_prefix(code), autoescape=True))
    return stmt.where(CarbonAccount.is_current.is_(True))


def summary(*, level: str, code: str | None, period: Period,
            scope: DataScope | None = None) -> dict:
    """Energy (tce), energy per output, CO2, intensity for one subject and period."""
    base = _filtered(level, code, scope).where(
        CarbonAccount.period.between(period.first, period.last)).subquery()
    row = db.session.execute(select(
        func.coalesce(func.sum(base.c.energy_tce), 0), func.coalesce(func.sum(
            base.c.co2_total), 0), func.sum(base.c.gross_output), func.sum(base.c.value_added),
        func.count(func.distinct(base.c.enterprise_id)), func.count(),
        func.coalesce(func.sum(base.c.co2_biomass), 0))).one()
    tce, co2, gross, va, ents, months, bio = row
    return {"level": level, "code": code, "period": period.key, "period_label": period.label,
            "energy_tce": Decimal(tce), "co2": Decimal(co2), "co2_biomass": Decimal(bio),
            "gross_output": gross, "value_added": va,
            "energy_per_output": engine.ratio(Decimal(tce), gross),
            "intensity": engine.ratio(Decimal(co2), va), "enterprises": ents,
            "enterprise_months": months}


def series(*, level: str, code: str | None, year: int, period_type: str = "month",
           scope: DataScope | None = None) -> list[dict]:
    count = {"month": 12, "quarter": 4, "half": 2, "year": 1}[period_type]
    return [summary(level=level, code=code, period=Period(period_type, year, i), scope=scope)
            for i in range(1, count + 1)]


def by_group(*, group: str, period: Period, scope: DataScope | None = None,
             industry_level: str = "division") -> list[dict]:
    """Totals per industry (at `industry_level`) or per city, ranked by CO2."""
    if group == "industry":
        n = {"division": 2, "group": 3, "class": 4}[industry_level]
        key = func.substr(CarbonAccount.industry_code, 1, n)
    else:
        key = func.substr(CarbonAccount.region_code, 1, 4)
    base = scoped(select(key.label("k"), func.sum(CarbonAccount.co2_total),
                         func.sum(CarbonAccount.value_added), func.sum(CarbonAccount.energy_tce),
                         func.count(func.distinct(CarbonAccount.enterprise_id))),
                  CarbonAccount, scope).where(
        CarbonAccount.is_current.is_(True),
        CarbonAccount.period.between(period.first, period.last)).group_by(key)
    out = []
    for k, co2, va, tce, n_ent in db.session.execute(base):
        out.append({"code": k if group == "industry" else (k or "") + "00", "co2": co2,
                    "value_added": va, "energy_tce": tce, "enterprises": n_ent,
                    "intensity": engine.ratio(co2, va)})
    return sorted(out, key=lambda r: -(r["co2"] or 0))


def benchmarks(*, period: Period, scope: DataScope | None = None, top: int = 3,
               industry: str | None = None) -> list[dict]:
    """Per industry (comparison level and area from settings): the benchmark intensity,
    the lowest-intensity enterprises (标杆企业) and the reduction potential of those above
    it (CO2 − benchmark × value added). Industries ranked by total potential."""
    cfg = settings()
    bench = {(b.area_code, b.industry_code): b for b in db.session.scalars(
        select(IndustryBenchmark).where(IndustryBenchmark.period_key == period.key,
                                        IndustryBenchmark.industry_level ==
                                        cfg["industry_level"],
                                        IndustryBenchmark.is_current.is_(True)))}
    stmt = scoped(select(Enterprise.id, Enterprise.uscc, Enterprise.name,
                         Enterprise.region_code, Enterprise.industry_code,
                         func.sum(CarbonAccount.co2_total), func.sum(CarbonAccount.value_added)),
                  CarbonAccount, scope).join(
        Enterprise, Enterprise.id == CarbonAccount.enterprise_id).where(
        CarbonAccount.is_current.is_(True),
        CarbonAccount.period.between(period.first, period.last)).group_by(
        Enterprise.id, Enterprise.uscc, Enterprise.name, Enterprise.region_code,
        Enterprise.industry_code)
    if industry:
        stmt = stmt.where(Enterprise.industry_code.startswith(industry, autoescape=True))
    groups: dict[tuple, dict] = {}
    for _eid, uscc, name, region, ind, co2, va in db.session.execute(stmt):
        area = area_of(region, cfg["area_level"])
        icode = industry_of(ind, cfg["industry_level"])
        b = bench.get((area, icode))
        if b is None or va is None or va <= 0:
            continue
        g = groups.setdefault((area, icode), {
            "area_code": area, "industry_code": icode, "benchmark_intensity": b.intensity,
            "peers": b.enterprises, "enterprises": [], "potential": Decimal(0)})
        intensity = engine.ratio(co2, va)
        potential = engine.q6(co2 - b.co2_total * va / b.value_added_total) \
            if b.value_added_total > 0 else Decimal(0)
        g["enterprises"].append({"uscc": uscc, "name": name, "co2": co2, "value_added": va,
                                 "intensity": intensity,
                                 "potential": max(potential, Decimal(0))})
        g["potential"] += max(potential, Decimal(0))
    names = {i.code: i.name for i in db.session.scalars(select(Industry).where(
        Industry.code.in_({k[1] for k in groups})))} if groups else {}
    out = []
    for g in groups.values():
        ents = sorted(g.pop("enterprises"), key=lambda e: e["intensity"])
        g["industry_name"] = names.get(g["industry_code"], g["industry_code"])
        g["leaders"] = ents[:top]
        g["largest_potential"] = sorted([e for e in ents if e["potential"] > 0],
                                        key=lambda e: -e["potential"])[:top]
        out.append(g)
    return sorted(out, key=lambda g: -g["potential"])
