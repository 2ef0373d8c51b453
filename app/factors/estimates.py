"""Estimating CO2 from electricity (6.4.1 a), kept apart from GB/T 32150 accounting.

An enterprise-month is estimated when its current account has electricity but no
combustion, process or heat emissions while the enterprise's other months have them (its
other energy is missing, not absent). The estimate is a + b · E with the enterprise's
current factor (or b · E with its peers' median), with the interval from the factor's
interval, labelled 估算（电碳因子）. Whether a region's figures include estimates is a
per-region setting (the nearest setting up the GB/T 2260 tree wins; default: no).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Float, cast, delete, func, insert, select

from app.accounting.models import CarbonAccount
from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.factors import library
from app.factors.models import ElectricityEstimate, ElectricityFactor, EstimationSetting
from app.i18n import Msg
from app.identity.scope import DataScope, region_prefix, scoped
from app.monitoring import service as monitoring
from app.orgs.models import Enterprise

LABEL = "估算（电碳因子）"


def _candidates(region: str | None, year: int | None,
                enterprise_ids: list[int] | None = None):
    direct = CarbonAccount.co2_combustion + CarbonAccount.co2_process + CarbonAccount.co2_heat
    inner = select(
        CarbonAccount.enterprise_id.label("eid"), CarbonAccount.period.label("period"),
        CarbonAccount.region_code.label("region"),
        CarbonAccount.electricity_mwh.label("mwh"), direct.label("direct"),
        func.max(direct).over(partition_by=CarbonAccount.enterprise_id).label("maxdirect"),
    ).where(CarbonAccount.is_current.is_(True))
    if region:
        inner = inner.where(
            CarbonAccount.region_code.startswith(region_prefix(region), autoescape=True))
    if enterprise_ids is not None:
        inner = inner.where(CarbonAccount.enterprise_id.in_(enterprise_ids))
    sub = inner.subquery()
    stmt = (select(sub.c.eid, sub.c.period, sub.c.region, sub.c.mwh)
            .where(sub.c.direct <= 0, sub.c.maxdirect > 0, sub.c.mwh > 0))
    if year:
        stmt = stmt.where(sub.c.period.between(year * 100 + 1, year * 100 + 12))
    return stmt


def _q(x: Decimal | None, places: str = "0.000001") -> Decimal | None:
    return None if x is None else Decimal(x).quantize(Decimal(places))


def estimate(*, region: str | None = None, year: int | None = None,
             enterprise_ids: list[int] | None = None, actor: Any = None) -> dict:
    """(Re)write the estimates of a region / year / set of enterprises; idempotent (replaces
    its own rows). Where a region includes estimates, its monitoring facts follow."""
    rows = db.session.execute(_candidates(region, year, enterprise_ids)).all()
    ids = sorted({r.eid for r in rows})
    factors = {f.enterprise_id: f for f in db.session.scalars(select(ElectricityFactor).where(
        ElectricityFactor.is_current.is_(True), ElectricityFactor.enterprise_id.in_(ids)))} \
        if ids else {}
    ents = {e.id: e for e in db.session.scalars(select(Enterprise).where(
        Enterprise.id.in_(ids)))} if ids else {}
    peer_cache: dict[tuple, dict | None] = {}
    out, missing = [], []
    now = utcnow()
    for r in rows:
        f = factors.get(r.eid)
        if f is not None:
            b, a = f.slope, f.intercept or Decimal(0)
            lo, hi, origin, fid = f.ci_low, f.ci_high, f.origin, f.id
        else:
            ent = ents[r.eid]
            key = ((ent.industry_code or "")[:2], ent.region_code[:2])
            if key not in peer_cache:
                peer_cache[key] = library.fallback(enterprise=ent)
            fb = peer_cache[key]
            if fb is None:
                missing.append(r.eid)
                continue
            b, a = Decimal(repr(round(fb["value"], 6))), Decimal(0)
            lo = Decimal(repr(round(fb["low"], 6)))
            hi = Decimal(repr(round(fb["high"], 6)))
            origin, fid = "fallback", None
        mwh = Decimal(r.mwh)
        out.append({
            "enterprise_id": r.eid, "period": r.period, "region_code": r.region,
            "electricity_mwh": mwh, "factor_id": fid, "factor_origin": origin, "slope": b,
            "intercept": a, "co2": _q(a + b * mwh),
            "co2_low": _q(a + lo * mwh) if lo is not None else None,
            "co2_high": _q(a + hi * mwh) if hi is not None else None, "computed_at": now})
    conds = []
    if region:
        conds.append(
            ElectricityEstimate.region_code.startswith(region_prefix(region), autoescape=True))
    if year:
        conds.append(ElectricityEstimate.period.between(year * 100 + 1, year * 100 + 12))
    if enterprise_ids is not None:
        conds.append(ElectricityEstimate.enterprise_id.in_(enterprise_ids))
    touched = {(e, p) for e, p in db.session.execute(select(
        ElectricityEstimate.enterprise_id, ElectricityEstimate.period).where(*conds))}
    touched |= {(o["enterprise_id"], o["period"]) for o in out}
    stale = delete(ElectricityEstimate).where(*conds)
    db.session.execute(stale, execution_options={"synchronize_session": False})
    if out:
        db.session.execute(insert(ElectricityEstimate), out)
    summary = {"estimated": len(out), "enterprises": len({o["enterprise_id"] for o in out}),
               "without_factor": sorted(set(missing))}
    _refresh_figures(touched)
    if actor is not None or touched or enterprise_ids is None:
        audit.record("factors.estimate", object_type="electricity_estimate",
                     object_id=f"{region or 'all'}:{year or 'all'}",
                     summary={**summary, "without_factor": len(summary["without_factor"])},
                     user=actor)
    db.session.flush()
    return summary


def _refresh_figures(touched: set[tuple[int, int]]) -> None:
    """The monitoring facts of the enterprise-months whose estimate changed follow in the
    same transaction (a region that excludes estimates rebuilds to the same figures)."""
    if touched:
        monitoring.request_refresh(enterprise_ids={e for e, _ in touched},
                                   periods={p for _, p in touched})


def included_sql() -> str | None:
    """The estimates that stand in for accounts in the published figures: those of regions
    whose nearest setting includes them (`accounting.hooks.ESTIMATED_CO2`)."""
    settings = dict(db.session.execute(select(EstimationSetting.region_code,
                                              EstimationSetting.include_estimates)).all())
    if not any(settings.values()):
        return None
    regions = db.session.scalars(select(ElectricityEstimate.region_code).distinct()).all()
    included = sorted(r for r in regions if r.isdigit() and len(r) == 6 and next(
        (settings[c] for c in (r, r[:4] + "00", r[:2] + "0000") if c in settings), False))
    if not included:
        return None
    listed = ", ".join(f"'{r}'" for r in included)  # six digits each: nothing to escape
    return ("SELECT enterprise_id, period, co2 FROM electricity_estimate "
            f"WHERE region_code IN ({listed})")


def setting_for(region_code: str) -> tuple[bool, str | None]:
    """(include estimates?, the region code whose setting decided it)."""
    chain = [region_code, region_code[:4] + "00", region_code[:2] + "0000"]
    found = {s.region_code: s for s in db.session.scalars(select(EstimationSetting).where(
        EstimationSetting.region_code.in_(chain)))}
    for code in chain:
        if code in found:
            return found[code].include_estimates, code
    return False, None


def set_setting(*, region_code: str, include: bool, actor: Any = None) -> EstimationSetting:
    row = db.session.get(EstimationSetting, region_code)
    if row is None:
        row = EstimationSetting(region_code=region_code)
        db.session.add(row)
    changed = row.include_estimates != include
    row.include_estimates = include
    row.updated_at, row.updated_by = utcnow(), getattr(actor, "email", None)
    if changed:  # the region's figures now include (or drop) its estimates
        db.session.flush()
        _refresh_figures({(e, p) for e, p in db.session.execute(select(
            ElectricityEstimate.enterprise_id, ElectricityEstimate.period).where(
            ElectricityEstimate.region_code.like(region_prefix(region_code) + "%")))})
    audit.record("factors.estimation_setting", object_type="estimation_setting",
                 object_id=region_code, summary={"include_estimates": include}, user=actor)
    db.session.flush()
    return row


def region_figures(*, region_code: str, year: int, scope: DataScope) -> dict:
    """The region's CO2 for the year: accounted (GB/T 32150), the estimated months beside
    it, and — only if the region includes estimates — the total with them, saying so."""
    prefix = region_prefix(region_code)
    first, last = year * 100 + 1, year * 100 + 12
    acc = scoped(select(func.coalesce(func.sum(cast(CarbonAccount.co2_total, Float)), 0.0),
                        func.count(func.distinct(CarbonAccount.enterprise_id))),
                 CarbonAccount, scope).where(
        CarbonAccount.is_current.is_(True),
        CarbonAccount.region_code.startswith(prefix, autoescape=True),
        CarbonAccount.period.between(first, last))
    accounted, n_ent = db.session.execute(acc).one()
    est_rows = db.session.execute(scoped(select(ElectricityEstimate, CarbonAccount.co2_total)
                                         .join(CarbonAccount, (
        CarbonAccount.enterprise_id == ElectricityEstimate.enterprise_id)
        & (CarbonAccount.period == ElectricityEstimate.period)
        & CarbonAccount.is_current.is_(True)), ElectricityEstimate, scope).where(
        ElectricityEstimate.region_code.startswith(prefix, autoescape=True),
        ElectricityEstimate.period.between(first, last))
        .order_by(ElectricityEstimate.enterprise_id, ElectricityEstimate.period)).all()
    est = sum(float(e.co2) for e, _ in est_rows)
    replaced = sum(float(c) for _, c in est_rows)
    low = sum(float(e.co2_low if e.co2_low is not None else e.co2) for e, _ in est_rows)
    high = sum(float(e.co2_high if e.co2_high is not None else e.co2) for e, _ in est_rows)
    include, decided_by = setting_for(region_code)
    ents = sorted({e.enterprise_id for e, _ in est_rows})
    out = {"region_code": region_code, "year": year, "accounted_t": float(accounted),
           "accounted_enterprises": n_ent, "estimated_months": len(est_rows),
           "estimated_enterprises": len(ents), "estimated_t": est,
           "estimated_interval_t": [low, high], "accounted_of_estimated_months_t": replaced,
           "include_estimates": include, "setting_from": decided_by, "label": LABEL,
           "rows": [e for e, _ in est_rows]}
    if include:
        out["total_t"] = float(accounted) - replaced + est
        out["total_label"] = Msg("含%(label)s：%(ents)s 家企业 %(months)s 个企业月以"
                                 "用电量×电碳因子估算，其余为 GB/T 32150 核算",
                                 label=LABEL, ents=len(ents), months=len(est_rows))
    else:
        out["total_t"] = float(accounted)
        out["total_label"] = Msg("仅 GB/T 32150 核算；另有 %(months)s 个企业月的%(label)s结果单列，"
                                 "未计入", months=len(est_rows), label=LABEL)
    return out
