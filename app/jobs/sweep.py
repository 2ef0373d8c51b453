"""Reclaim leased rows whose lease passed: the rq job was lost (Redis flushed or down, the
worker killed mid-job). `SELECT … FOR UPDATE SKIP LOCKED` lets any number of sweeps run at
once: each row is taken back by one of them, and a row that a live runner still holds
(its run transaction keeps the row locked) is skipped, however long it runs."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.jobs import settings
from app.jobs.models import LEASED, OutboxJob
from app.jobs.outbox import dispatch_pending
from app.jobs.runner import log_attempt

log = logging.getLogger(__name__)
LOST = "租约已过期：任务在队列中丢失或执行进程中断"


def reclaim(limit: int = 500) -> int:
    """Put expired rows back to `pending` (or dead-letter a row whose interrupted attempt
    was its last). Commits; returns how many rows were taken back."""
    now = utcnow()
    rows = db.session.scalars(
        select(OutboxJob).where(OutboxJob.status.in_(LEASED), OutboxJob.lease_until < now)
        .order_by(OutboxJob.id).limit(limit).with_for_update(skip_locked=True)).all()
    for row in rows:
        if row.status == "running":  # the attempt was counted when it was claimed
            row.last_error = LOST
            log_attempt(row, n=row.attempts, error=LOST)
            if row.attempts >= settings.max_attempts():
                row.status, row.finished_at, row.lease_until = "dead", now, None
                continue
        row.status, row.lease_until, row.run_at = "pending", None, None
    if rows:
        log.warning("outbox sweep reclaimed %d job(s) with expired leases", len(rows))
    db.session.commit()
    return len(rows)


def sweep() -> int:
    """The periodic outbox sweep: reclaim, then hand over (or run) what is pending."""
    n = reclaim()
    dispatch_pending()
    return n
