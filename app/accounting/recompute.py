"""Recomputing accounts after their inputs changed: new or corrected energy records, a new
factor version. Large batches on PostgreSQL go set-based (`bulk`), the rest through the
per-row engine (`service`); both give the same accounts and both leave frozen (published /
verified) months alone, marking them `pending_reason` for an explicit restatement.

Energy signals the changes through `app.energy.hooks`; `subscribe()` (called from this
domain's `register`) connects them here, so energy never imports accounting.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from sqlalchemy import select

from app.accounting import bulk, codes, service
from app.accounting.models import CarbonAccount, CarbonAccountLine
from app.audit.service import record as audit
from app.energy import service as energy
from app.energy.models import EmissionFactor, EnergyRecord
from app.extensions import db
from app.jobs.outbox import enqueue


def after_records_changed(*, records: list[EnergyRecord]) -> None:
    """Recompute the accounts of changed records, then refresh the codes of their periods
    (a job: a changed month moves its industry's benchmark for every peer)."""
    if len(records) > 200 and db.session.get_bind().dialect.name == "postgresql":
        bulk.compute_accounts(record_ids=[r.id for r in records], reason="批量录入")
    else:
        service.compute_many(records, "数据录入")
    months = sorted({r.period for r in records})
    enqueue("accounting.issue_codes", periods=months)


def after_factors_added(factor_ids: list[int]) -> None:
    """New factor versions: recompute (as a job) the periods they apply to, if any account
    exists at all (the first reference load has none)."""
    if db.session.scalar(select(CarbonAccount.id).where(
            CarbonAccount.is_current.is_(True)).limit(1)) is not None:
        ids = sorted(factor_ids)
        digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
        enqueue("accounting.recompute_factors", factor_ids=ids,
                key=f"accounting.recompute_factors:{digest}")


def _records_changed(records: list[EnergyRecord]) -> None:
    after_records_changed(records=records)


def subscribe() -> None:
    """Connect energy's change signals (idempotent)."""
    energy.hooks.subscribe(energy.hooks.AFTER_RECORDS_CHANGED, _records_changed)
    energy.hooks.subscribe(energy.hooks.AFTER_FACTORS_ADDED, after_factors_added)


def _window(f: EmissionFactor) -> tuple[int | None, int | None]:
    """The months (yyyymm) a version can price: from its `valid_from`; up to its
    `valid_to`, except heat / electricity, which later years fall back to until their own
    year's factor is published."""
    lo = f.valid_from.year * 100 + f.valid_from.month if f.valid_from else None
    hi = f.valid_to.year * 100 + f.valid_to.month if f.valid_to else None
    if energy.item_of(kind=f.kind, code=f.code, energy_code=f.energy_code) in (
            "heat", "electricity"):
        hi = None
    return lo, hi


def affected_accounts(factor_ids: list[int]) -> list[CarbonAccount]:
    """Current accounts whose line for the factor's item would now resolve to another
    version than the one it used: exactly the periods the new versions apply to."""
    out: dict[int, CarbonAccount] = {}
    cache: dict = {}
    for f in db.session.scalars(select(EmissionFactor).where(
            EmissionFactor.id.in_(factor_ids))):
        item = energy.item_of(kind=f.kind, code=f.code, energy_code=f.energy_code)
        if item is None:
            continue
        lo, hi = _window(f)
        stmt = (select(CarbonAccount, CarbonAccountLine.factor_id)
                .join(CarbonAccountLine, CarbonAccountLine.account_id == CarbonAccount.id)
                .where(CarbonAccount.is_current.is_(True), CarbonAccountLine.item == item))
        if lo is not None:
            stmt = stmt.where(CarbonAccount.period >= lo)
        if hi is not None:
            stmt = stmt.where(CarbonAccount.period <= hi)
        for acc, used in db.session.execute(stmt):
            resolved = energy.resolve(year=acc.year, month=acc.month,
                                      region_code=acc.region_code, cache=cache)
            now = resolved.factors.get(item)
            if (now.id if now else None) != used:
                out[acc.id] = acc
    return sorted(out.values(), key=lambda a: a.id)


def recompute_for_factors(*, factor_ids: list[int]) -> int:
    """Recompute the open accounts the new factor versions apply to (frozen ones are marked
    pending and audited, never rewritten); re-issue the codes of those periods. Returns
    the number of accounts recomputed."""
    accounts = affected_accounts(factor_ids)
    if not accounts:
        return 0
    reason = "因子更新 #" + ",".join(str(i) for i in sorted(factor_ids))
    frozen = [a for a in accounts if a.frozen]
    for a in frozen:
        a.pending_reason = reason[:200]
    service.audit_frozen([(a.enterprise_id, a.period) for a in frozen], reason)
    open_ = [a for a in accounts if not a.frozen]
    record_ids = [a.record_id for a in open_ if a.record_id is not None]
    if db.session.get_bind().dialect.name == "postgresql" and len(record_ids) > 50:
        n = bulk.compute_accounts(record_ids=record_ids, reason=reason)
    else:
        n = service.compute_many(list(db.session.scalars(select(EnergyRecord).where(
            EnergyRecord.id.in_(record_ids)))), reason) if record_ids else 0
    by_period: dict[int, int] = defaultdict(int)
    for a in open_:
        by_period[a.period] += 1
    audit("accounting.recompute", object_type="emission_factor",
          object_id=",".join(str(i) for i in sorted(factor_ids)),
          summary={"accounts": n, "frozen": len(frozen), "periods": dict(sorted(
              by_period.items()))})
    if open_:
        codes.issue(periods=sorted(by_period))
    return n


def recompute_for_factor(*, old_factor_id: int, new_factor_id: int | None = None) -> int:
    """Jobs queued before dated factors named the superseded version: recompute for the
    new version (or, without one, every current account that used the old one)."""
    if new_factor_id is not None:
        return recompute_for_factors(factor_ids=[new_factor_id])
    ids = select(CarbonAccountLine.account_id).where(
        CarbonAccountLine.factor_id == old_factor_id)
    record_ids = list(db.session.scalars(select(CarbonAccount.record_id).where(
        CarbonAccount.is_current.is_(True), CarbonAccount.id.in_(ids),
        CarbonAccount.record_id.is_not(None))))
    return service.compute_many(list(db.session.scalars(select(EnergyRecord).where(
        EnergyRecord.id.in_(record_ids)))), f"因子更新 #{old_factor_id}")
