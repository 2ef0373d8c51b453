"""The enterprise factor library (6.4.1 b, c): fit every enterprise's CO2 against its
electricity set-based (one query, grouped numpy, one bulk write), keep each result as a
version with its origin, and maintain it (override with a reason, retire, certify).
Services flush, never commit; every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Float, and_, cast, func, insert, select, update

from app.accounting.models import CarbonAccount
from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.factors.fit import MIN_MONTHS, fit_groups, fit_one
from app.factors.models import ORIGINS, ElectricityFactor
from app.orgs.models import Enterprise

#: peers needed before an industry-and-region median is offered
MIN_PEERS = 3
MANUAL_ORIGINS = ("manual", "measured")


class FactorError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


@dataclass
class ComputeSummary:
    fitted: int = 0
    written: int = 0
    unchanged: int = 0
    kept: int = 0                      # current factor is manual / measured / certified
    skipped: dict[str, list[int]] = field(default_factory=dict)   # reason -> enterprise ids


def _dec(x: float | None, places: int) -> Decimal | None:
    if x is None or not np.isfinite(x):
        return None
    return Decimal(repr(round(float(x), places)))


def series_stmt(*, enterprise_ids: list[int] | None = None, region: str | None = None,
                period_from: int | None = None, period_to: int | None = None):
    """Monthly (E, CO2) of current accounts. An enterprise's electricity-only months (no
    combustion, process or heat emissions while other months have them) are left out: their
    accounted CO2 is only the grid part, and they are what the factor is meant to estimate."""
    direct = CarbonAccount.co2_combustion + CarbonAccount.co2_process + CarbonAccount.co2_heat
    inner = select(
        CarbonAccount.enterprise_id.label("eid"), CarbonAccount.period.label("period"),
        cast(CarbonAccount.electricity_mwh, Float).label("e"),
        cast(CarbonAccount.co2_total, Float).label("co2"),
        cast(direct, Float).label("direct"),
        func.max(direct).over(partition_by=CarbonAccount.enterprise_id).label("maxdirect"),
    ).where(CarbonAccount.is_current.is_(True), CarbonAccount.electricity_mwh > 0)
    if enterprise_ids is not None:
        inner = inner.where(CarbonAccount.enterprise_id.in_(enterprise_ids))
    if region:
        from app.identity.scope import region_prefix

        inner = inner.where(
            CarbonAccount.region_code.startswith(region_prefix(region), autoescape=True))
    if period_from:
        inner = inner.where(CarbonAccount.period >= period_from)
    if period_to:
        inner = inner.where(CarbonAccount.period <= period_to)
    sub = inner.subquery()
    return (select(sub.c.eid, sub.c.period, sub.c.e, sub.c.co2)
            .where((sub.c.direct > 0) | (sub.c.maxdirect <= 0))
            .order_by(sub.c.eid, sub.c.period))


def _fetch(stmt) -> list[tuple]:
    """Plain tuples: on PostgreSQL straight from the driver's cursor (SQLAlchemy's Row
    objects cost more than the fit itself at 3.6 million rows)."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        # literal binds: ints and a region prefix only (expanding IN lists included)
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        cur = conn.connection.cursor()
        try:
            cur.execute(str(compiled))
            return cur.fetchall()
        finally:
            cur.close()
    return [tuple(r) for r in conn.execute(stmt)]


def load_series(**kw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows = _fetch(series_stmt(**kw))
    if not rows:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty.astype(np.int64), empty, empty
    arr = np.array(rows, dtype=float)
    return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2], arr[:, 3]


def _current_by_enterprise(ids: list[int]) -> dict[int, ElectricityFactor]:
    out: dict[int, ElectricityFactor] = {}
    for chunk in range(0, len(ids), 5000):
        part = ids[chunk:chunk + 5000]
        for f in db.session.scalars(select(ElectricityFactor).where(
                ElectricityFactor.is_current.is_(True),
                ElectricityFactor.enterprise_id.in_(part))):
            out[f.enterprise_id] = f
    return out


def _max_versions(ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for chunk in range(0, len(ids), 5000):
        part = ids[chunk:chunk + 5000]
        out.update(db.session.execute(select(
            ElectricityFactor.enterprise_id, func.max(ElectricityFactor.version))
            .where(ElectricityFactor.enterprise_id.in_(part))
            .group_by(ElectricityFactor.enterprise_id)).all())
    return out


def _same(cur: ElectricityFactor, row: dict) -> bool:
    return (cur.origin == "computed" and cur.slope == row["slope"]
            and cur.intercept == row["intercept"] and cur.n_months == row["n_months"]
            and cur.period_to == row["period_to"] and cur.period_from == row["period_from"])


def compute(*, enterprise_ids: list[int] | None = None, region: str | None = None,
            period_from: int | None = None, period_to: int | None = None,
            min_months: int = MIN_MONTHS, force: bool = False,
            actor: Any = None) -> ComputeSummary:
    """Fit and store new computed versions; idempotent (an unchanged fit writes nothing).
    A current manual / measured / certified factor is kept unless `force`."""
    eid, period, e, co2 = load_series(enterprise_ids=enterprise_ids, region=region,
                                      period_from=period_from, period_to=period_to)
    summary = ComputeSummary()
    uniq, g = np.unique(eid, return_inverse=True)
    if enterprise_ids:
        missing = sorted(set(enterprise_ids) - set(uniq.tolist()))
        if missing:
            summary.skipped["no_data"] = missing
    if not uniq.size:
        return summary
    fits = fit_groups(g, e, co2, uniq.size, min_months=min_months)
    pfrom = np.full(uniq.size, np.iinfo(np.int64).max)
    np.minimum.at(pfrom, g, period)
    pto = np.zeros(uniq.size, np.int64)
    np.maximum.at(pto, g, period)
    ids = uniq.tolist()
    current = _current_by_enterprise(ids)
    versions = _max_versions(ids)
    now, who = utcnow(), _who(actor)
    rows, retire_ids = [], []
    for k, ent_id in enumerate(ids):
        if not np.isfinite(fits.slope[k]):
            reason = fits.flags[k][0] if fits.flags[k] else "not_fitted"
            summary.skipped.setdefault(reason, []).append(ent_id)
            continue
        summary.fitted += 1
        row = {
            "enterprise_id": ent_id, "slope": _dec(fits.slope[k], 6),
            "intercept": _dec(fits.intercept[k], 4), "r2": _dec(fits.r2[k], 6),
            "n_months": int(fits.n[k]), "resid_sd": _dec(fits.resid_sd[k], 4),
            "ci_low": _dec(fits.ci_low[k], 6), "ci_high": _dec(fits.ci_high[k], 6),
            "ols_slope": _dec(fits.ols_slope[k], 6),
            "ols_intercept": _dec(fits.ols_intercept[k], 4),
            "ols_r2": _dec(fits.ols_r2[k], 6), "period_from": int(pfrom[k]),
            "period_to": int(pto[k]), "flags": fits.flags[k], "origin": "computed",
            "method": "theil_sen", "status": "active", "is_current": True,
            "created_at": now, "created_by": who,
            "reason": "由月度用电量与核算排放拟合（Theil–Sen，OLS 并列）",
        }
        cur = current.get(ent_id)
        if cur is not None and _same(cur, row):
            summary.unchanged += 1
            continue
        if cur is not None and cur.origin != "computed" and not force:
            summary.kept += 1
            continue
        if cur is not None:
            retire_ids.append(cur.id)
        row["version"] = versions.get(ent_id, 0) + 1
        rows.append(row)
    if retire_ids:
        for chunk in range(0, len(retire_ids), 5000):
            db.session.execute(update(ElectricityFactor).where(
                ElectricityFactor.id.in_(retire_ids[chunk:chunk + 5000]))
                .values(is_current=False, status="superseded"),
                execution_options={"synchronize_session": False})
    if rows:
        db.session.execute(insert(ElectricityFactor), rows)
    summary.written = len(rows)
    audit.record("factors.compute", object_type="electricity_factor",
                 object_id=region or (",".join(map(str, enterprise_ids[:20]))
                                      if enterprise_ids else "all"),
                 summary={"fitted": summary.fitted, "written": summary.written,
                          "unchanged": summary.unchanged, "kept": summary.kept,
                          "skipped": {k: len(v) for k, v in summary.skipped.items()}},
                 user=actor)
    db.session.flush()
    return summary


def recompute_one(*, enterprise: Enterprise, actor: Any = None,
                  min_months: int = MIN_MONTHS) -> ElectricityFactor:
    """The page's "recompute": a clear error naming the enterprise when it cannot be fitted."""
    s = compute(enterprise_ids=[enterprise.id], min_months=min_months, force=True,
                actor=actor)
    for reason, ids in s.skipped.items():
        if enterprise.id in ids:
            n = db.session.scalar(select(func.count()).select_from(
                series_stmt(enterprise_ids=[enterprise.id]).subquery()))
            message = {
                "too_few_months": f"{enterprise.name}（{enterprise.uscc}）只有 {n} 个月的"
                                  f"用电与排放数据，拟合至少需要 {min_months} 个月",
                "no_data": f"{enterprise.name}（{enterprise.uscc}）没有用电与核算排放数据",
            }.get(reason, f"{enterprise.name}（{enterprise.uscc}）的用电量几乎不变，无法拟合")
            raise FactorError("enterprise", message)
    return current(enterprise_id=enterprise.id)


def current(*, enterprise_id: int) -> ElectricityFactor | None:
    return db.session.scalar(select(ElectricityFactor).where(
        ElectricityFactor.enterprise_id == enterprise_id,
        ElectricityFactor.is_current.is_(True)))


def history(*, enterprise_id: int) -> list[ElectricityFactor]:
    return list(db.session.scalars(select(ElectricityFactor).where(
        ElectricityFactor.enterprise_id == enterprise_id)
        .order_by(ElectricityFactor.version.desc())))


def _who(actor: Any) -> str | None:
    return getattr(actor, "email", None) if actor is not None else None


def _new_version(enterprise_id: int, actor: Any, **values: Any) -> ElectricityFactor:
    cur = current(enterprise_id=enterprise_id)
    top = db.session.scalar(select(func.max(ElectricityFactor.version)).where(
        ElectricityFactor.enterprise_id == enterprise_id)) or 0
    if cur is not None:
        cur.is_current, cur.status = False, "superseded"
        db.session.flush()
    f = ElectricityFactor(enterprise_id=enterprise_id, version=top + 1, is_current=True,
                          status="active", created_by=_who(actor), flags=[], **values)
    db.session.add(f)
    db.session.flush()
    return f


def override(*, enterprise: Enterprise, slope: Any, reason: str, origin: str = "manual",
             intercept: Any = None, ci_low: Any = None, ci_high: Any = None,
             source: str | None = None, actor: Any = None) -> ElectricityFactor:
    """A manual or measured factor; it needs a reason and is audited."""
    if origin not in MANUAL_ORIGINS:
        raise FactorError("origin", "来源应为 manual（人工设定）或 measured（实测）")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise FactorError("reason", "人工设定或实测因子必须说明理由（至少 4 个字）")
    values = {}
    for name, raw, required in (("slope", slope, True), ("intercept", intercept, False),
                                ("ci_low", ci_low, False), ("ci_high", ci_high, False)):
        if raw in (None, ""):
            if required:
                raise FactorError(name, "必填")
            values[name] = None
            continue
        try:
            values[name] = Decimal(str(raw).strip())
        except ArithmeticError:
            raise FactorError(name, "必须是数值") from None
        if not values[name].is_finite():
            raise FactorError(name, "必须是有限数值")
    if not Decimal(0) <= values["slope"] <= Decimal(20):
        raise FactorError("slope", "电碳因子应在 0–20 tCO2/MWh 之间")
    if values["ci_low"] is not None and values["ci_high"] is not None \
            and not values["ci_low"] <= values["slope"] <= values["ci_high"]:
        raise FactorError("ci_low", "区间应包含因子值")
    f = _new_version(enterprise.id, actor, origin=origin, method=origin, reason=reason[:500],
                     source=source, **values)
    audit.record("factors.override", object_type="electricity_factor", object_id=f.id,
                 summary={"enterprise": enterprise.uscc, "version": f.version,
                          "origin": origin, "slope": str(f.slope), "reason": reason},
                 user=actor)
    return f


def retire(*, enterprise: Enterprise, reason: str, actor: Any = None) -> ElectricityFactor:
    """End the current version; the enterprise falls back to its peers' median."""
    cur = current(enterprise_id=enterprise.id)
    if cur is None:
        raise FactorError("factor", f"{enterprise.name} 没有现行电碳因子")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise FactorError("reason", "停用因子必须说明理由（至少 4 个字）")
    cur.is_current, cur.status, cur.retired_at = False, "retired", utcnow()
    cur.reason = f"{cur.reason or ''}；停用：{reason}"[:500]
    audit.record("factors.retire", object_type="electricity_factor", object_id=cur.id,
                 summary={"enterprise": enterprise.uscc, "version": cur.version,
                          "reason": reason}, user=actor)
    db.session.flush()
    return cur


def certify(*, factor: ElectricityFactor, check_id: int, statement: str,
            actor: Any = None) -> ElectricityFactor:
    """A passed third-party check makes the checked values a "third-party certified"
    version (same figures, new origin, pointing at the signed check)."""
    keep = {k: getattr(factor, k) for k in (
        "slope", "intercept", "r2", "n_months", "resid_sd", "ci_low", "ci_high", "ols_slope",
        "ols_intercept", "ols_r2", "period_from", "period_to")}
    f = _new_version(factor.enterprise_id, actor, origin="certified", method=factor.method,
                     reason=f"第三方核验通过（核验记录 #{check_id}）", source=statement,
                     check_id=check_id, **keep)
    f.flags = list(factor.flags or [])
    audit.record("factors.certify", object_type="electricity_factor", object_id=f.id,
                 summary={"enterprise_id": factor.enterprise_id, "check": check_id,
                          "from_version": factor.version}, user=actor)
    return f


#: a peer's factor with one of these flags is not a usable reference
UNUSABLE_FLAGS = frozenset({"poor_fit", "negative_slope", "structural_break",
                            "too_few_months", "low_variation"})


def fallback(*, enterprise: Enterprise) -> dict | None:
    """Median of peers' usable current factors (no manual ones, no poor fits): same industry
    division (GB/T 4754, 2 digits) in the same province, else the same division anywhere;
    None below MIN_PEERS."""
    if not enterprise.industry_code:
        return None
    division = enterprise.industry_code[:2]
    base = (select(cast(ElectricityFactor.slope, Float), ElectricityFactor.flags)
            .join(Enterprise, Enterprise.id == ElectricityFactor.enterprise_id)
            .where(ElectricityFactor.is_current.is_(True),
                   ElectricityFactor.origin != "manual",
                   Enterprise.id != enterprise.id,
                   Enterprise.industry_code.startswith(division, autoescape=True)))
    for level, stmt in (("province", base.where(and_(
            Enterprise.region_code.startswith(enterprise.region_code[:2], autoescape=True)))),
            ("national", base)):
        values = np.array([v for v, flags in db.session.execute(stmt).all()
                           if not UNUSABLE_FLAGS.intersection(flags or [])], float)
        if values.size >= MIN_PEERS:
            return {"value": float(np.median(values)), "n": int(values.size),
                    "level": level, "industry_division": division,
                    "region": enterprise.region_code[:2] + "0000" if level == "province"
                    else None,
                    "low": float(np.percentile(values, 25)),
                    "high": float(np.percentile(values, 75))}
    return None


def as_dict(f: ElectricityFactor) -> dict:
    def num(x):
        return None if x is None else float(x)

    return {
        "value": num(f.slope), "unit": "tCO2/MWh", "intercept": num(f.intercept),
        "intercept_unit": "tCO2/月", "r2": num(f.r2), "n": f.n_months,
        "interval": [num(f.ci_low), num(f.ci_high)], "interval_level": 0.95,
        "resid_sd": num(f.resid_sd), "method": f.method, "origin": f.origin,
        "origin_label": ORIGINS.get(f.origin, f.origin), "version": f.version,
        "period": {"from": f.period_from, "to": f.period_to}, "flags": list(f.flags or []),
        "ols": {"value": num(f.ols_slope), "intercept": num(f.ols_intercept),
                "r2": num(f.ols_r2)},
        "reason": f.reason, "status": f.status,
        "created_at": f.created_at.isoformat() + "Z" if f.created_at else None,
    }


def scatter(*, enterprise_id: int) -> dict:
    """Points and both fitted lines for the page."""
    _, period, e, co2 = load_series(enterprise_ids=[enterprise_id])
    out = {"points": [[float(a), float(b), int(p)] for a, b, p in zip(e, co2, period,
                                                                      strict=True)]}
    if e.size >= 3:
        f = fit_one(e, co2, min_months=3)
        out["fit"] = {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                      for k, v in f.items() if k != "flags"}
        out["fit"] = {k: (float(v) if isinstance(v, np.floating | np.integer) else v)
                      for k, v in out["fit"].items()}
        out["range"] = [float(e.min()), float(e.max())]
    return out
