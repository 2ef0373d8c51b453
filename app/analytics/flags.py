"""Anomaly flags in the database: detection runs (whole province or a few enterprises),
the self-check's view of one enterprise, and a reviewer's explanation.

The self-check never reads a stale result for the tests that depend only on the
enterprise's own series (residual, level shift, fuel ratio): it recomputes them at once.
The peer test needs the whole industry, so it is read from the last detection run, which
the accounts' change signal triggers in the same transaction as any change."""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import func, select

from app.accounting.models import CarbonAccount
from app.analytics import anomalies, series
from app.analytics.models import AnomalyFlag
from app.audit.service import record as audit
from app.db import utcnow
from app.extensions import db
from app.i18n import Known, Msg
from app.identity.scope import DataScope, get_scoped, scoped
from app.orgs.models import Enterprise

OWN_KINDS = ("residual", "level_shift", "fuel_ratio")


def _window() -> int:
    """Months of history read (whole years: the self-check's basis counts in years)."""
    return 12 * -(-int(current_app.config.get("CECP_ANALYTICS_MONTHS", 36)) // 12)


def _detect(m: series.Matrix) -> list[anomalies.Flag]:
    return anomalies.detect(co2=m.co2, fuel=m.fuel, mwh=m.mwh, intensity=m.intensity,
                            industries=[(i or "")[:2] or None for i in m.industries],
                            periods=m.periods)


def detect_flags(*, enterprise_ids: list[int] | None = None) -> dict[str, int]:
    """Detect every flag of the window for these enterprises (their industries are read
    too, as peers) or for all, and bring the stored flags in line: new ones open, changed
    ones open again, vanished open ones cleared; an explanation stays with an unchanged
    flag. Idempotent."""
    last = series.latest_period()
    if last is None:
        return {"detected": 0, "opened": 0, "cleared": 0}
    if enterprise_ids is not None:
        inds = db.session.scalars(select(Enterprise.industry_code).where(
            Enterprise.id.in_(enterprise_ids), Enterprise.industry_code.is_not(None))).all()
        m = series.enterprise_matrix(last=last, months=_window(),
                                     industry_prefixes=list(inds) or ["--"])
        extra = [e for e in enterprise_ids if e not in set(m.ids)]
        if extra:  # enterprises without an industry: their own tests still run
            own = series.enterprise_matrix(last=last, months=_window(), enterprise_ids=extra)
            m = _stack(m, own)
        targets = set(enterprise_ids)
    else:
        m = series.enterprise_matrix(last=last, months=_window())
        targets = set(m.ids)
    found = {(m.ids[f.row], m.periods[f.col], f.kind): f for f in _detect(m)
             if m.ids[f.row] in targets}
    stored = {(r.enterprise_id, r.period, r.kind): r for r in db.session.scalars(
        select(AnomalyFlag).where(AnomalyFlag.enterprise_id.in_(targets),
                                  AnomalyFlag.period.between(m.periods[0], m.periods[-1])))} \
        if targets else {}
    opened = cleared = 0
    now = utcnow()
    for key, f in found.items():
        row = stored.get(key)
        if row is None:
            db.session.add(AnomalyFlag(enterprise_id=key[0], period=key[1], kind=key[2],
                                       score=f.score, reason=f.reason[:400], numbers=f.numbers,
                                       status="open", detected_at=now))
            opened += 1
        elif row.reason != f.reason[:400] or row.status == "cleared":
            row.score, row.reason, row.numbers = f.score, f.reason[:400], f.numbers
            row.status, row.detected_at = "open", now
            opened += 1
    for key, row in stored.items():
        if key not in found and row.status == "open":
            row.status = "cleared"
            cleared += 1
    db.session.flush()
    return {"detected": len(found), "opened": opened, "cleared": cleared}


def _stack(a: series.Matrix, b: series.Matrix) -> series.Matrix:
    return series.Matrix(a.ids + b.ids, a.industries + b.industries, a.regions + b.regions,
                         a.periods, *(np.vstack([getattr(a, k), getattr(b, k)])
                                      for k in ("co2", "energy", "fuel", "mwh", "va")))


def enterprise_warnings(enterprise: Enterprise, periods: list[int]) -> list[dict[str, Any]]:
    """Self-check warnings for the report's months: the enterprise's own tests computed
    now, the peer test from the last run; flags a reviewer explained are left out."""
    if not periods:
        return []
    # the same window as the detection runs: up to the latest month of any account
    last = max(series.latest_period() or 0, max(periods))
    m = series.enterprise_matrix(last=last, months=_window(), enterprise_ids=[enterprise.id])
    wanted = set(periods)
    live = {}
    if m.ids:
        for f in _detect(m):
            if f.kind in OWN_KINDS and m.periods[f.col] in wanted:
                live[(m.periods[f.col], f.kind)] = f.reason
    stored = db.session.scalars(select(AnomalyFlag).where(
        AnomalyFlag.enterprise_id == enterprise.id, AnomalyFlag.period.in_(periods)))
    explained = set()
    for row in stored:
        key = (row.period, row.kind)
        if row.status == "explained" and (row.kind not in OWN_KINDS
                                          or live.get(key) == row.reason):
            explained.add(key)
        elif row.status == "open" and row.kind not in OWN_KINDS:
            live[key] = row.reason
    return [{"code": "anomaly", "kind": kind, "period": period,
             "message": Msg("%(kind)s：%(reason)s", kind=anomalies.KINDS[kind],
                            reason=Known(reason, anomalies.REASONS))}
            for (period, kind), reason in sorted(live.items()) if (period, kind) not in explained]


def flags_basis(enterprise_id: int, periods: list[int]) -> list:
    """What `enterprise_warnings` depends on, in two small statements: the window's end
    (the latest month of any account) with the enterprise's current accounts inside the
    window (count, sum of ids: a new version is a new row), and its stored flags of the
    periods (count, sum of ids, explained, open)."""
    if not periods:
        return []
    A = CarbonAccount
    latest = select(func.max(A.period)).where(A.is_current.is_(True)).scalar_subquery()
    years = -(-_window() // 12)  # yyyymm - 100·years: the same month that many years back
    acc = db.session.execute(select(func.count(), func.coalesce(func.sum(A.id), 0), latest)
                             .where(A.enterprise_id == enterprise_id, A.is_current.is_(True),
                                    A.period > latest - 100 * years)).one()
    F = AnomalyFlag
    flg = db.session.execute(select(
        func.count(), func.coalesce(func.sum(F.id), 0),
        func.count().filter(F.status == "explained"),
        func.count().filter(F.status == "open")).where(
        F.enterprise_id == enterprise_id, F.period.in_(periods))).one()
    return [int(v or 0) for v in (*acc, *flg)]


def list_flags(*, scope: DataScope, status: str | None = "open", year: int | None = None,
               kind: str | None = None, limit: int = 500) -> list[AnomalyFlag]:
    stmt = scoped(select(AnomalyFlag), AnomalyFlag, scope).order_by(
        AnomalyFlag.period.desc(), AnomalyFlag.enterprise_id, AnomalyFlag.kind).limit(limit)
    if status:
        stmt = stmt.where(AnomalyFlag.status == status)
    if year:
        stmt = stmt.where(AnomalyFlag.period.between(year * 100 + 1, year * 100 + 12))
    if kind:
        stmt = stmt.where(AnomalyFlag.kind == kind)
    return list(db.session.scalars(stmt))


def explain_flag(*, flag_id: int, note: str, scope: DataScope, user: Any) -> AnomalyFlag:
    """A reviewer marks a flag as explained (audited). LookupError outside the scope."""
    flag = get_scoped(AnomalyFlag, flag_id, scope=scope)
    if flag is None:
        raise LookupError(flag_id)
    note = (note or "").strip()
    if not note:
        raise ValueError("请填写说明")
    flag.status, flag.note = "explained", note[:2000]
    flag.explained_by, flag.explained_at = getattr(user, "id", None), utcnow()
    db.session.flush()
    audit("analytics.flag.explain", object_type="analytics_anomaly", object_id=flag.id,
          summary={"enterprise_id": flag.enterprise_id, "period": flag.period,
                   "kind": flag.kind, "note": note[:200]})
    return flag
