"""Recomputing accounts after their inputs changed: new or corrected energy records, a
superseded emission factor. Large batches on PostgreSQL go set-based (`bulk`), the rest
through the per-row engine (`service`); both give the same accounts."""

from __future__ import annotations

from sqlalchemy import select

from app.accounting import bulk, codes, service
from app.accounting.models import CarbonAccount, CarbonAccountLine
from app.audit.service import record as audit
from app.energy.models import EnergyRecord
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


def recompute_for_factor(*, old_factor_id: int, new_factor_id: int | None = None) -> int:
    """Recompute every current account that used `old_factor_id`; returns the count."""
    ids = select(CarbonAccountLine.account_id).where(
        CarbonAccountLine.factor_id == old_factor_id)
    accounts = list(db.session.execute(select(
        CarbonAccount.id, CarbonAccount.record_id, CarbonAccount.period).where(
        CarbonAccount.is_current.is_(True), CarbonAccount.id.in_(ids))))
    if not accounts:
        return 0
    reason = f"因子更新 #{old_factor_id}→#{new_factor_id}"
    record_ids = [a.record_id for a in accounts if a.record_id is not None]
    if db.session.get_bind().dialect.name == "postgresql" and len(record_ids) > 50:
        bulk.compute_accounts(record_ids=record_ids, reason=reason)
    else:
        service.compute_many(list(db.session.scalars(select(EnergyRecord).where(
            EnergyRecord.id.in_(record_ids)))), reason)
    audit("accounting.recompute", object_type="emission_factor", object_id=old_factor_id,
          summary={"accounts": len(accounts), "new_factor_id": new_factor_id})
    codes.issue(periods=sorted({a.period for a in accounts}))
    return len(accounts)
