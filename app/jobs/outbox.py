"""Enqueue in the caller's transaction; dispatch after it commits.

A row from a rolled-back transaction never exists, so it never runs. A row committed while
Redis is down stays `pending` and the next dispatch (after the next commit, or the periodic
sweep) hands it over. A handed-over row carries a lease: if rq loses it (flushed, worker
killed), the sweep (`app.jobs.sweep`) takes it back when the lease passes.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.db import utcnow
from app.extensions import db
from app.jobs import queues, settings
from app.jobs.models import OutboxJob
from app.jobs.registry import get as get_job

log = logging.getLogger(__name__)
RUNNER = "app.jobs.runner.run_job"


def whole_second_up(at: datetime) -> datetime:
    """rq's scheduler keeps whole seconds (it truncates): a job scheduled for 12:00:00.4
    would start at 12:00:00, before its time. The next whole second never is early."""
    return at if not at.microsecond else at.replace(microsecond=0) + timedelta(seconds=1)


def enqueue(name: str, *, queue: str = "default", run_at: datetime | None = None,
            key: str | None = None, **payload: Any) -> OutboxJob:
    """Add a job to the caller's transaction. With `key`, at most one row ever exists for
    it: enqueueing the same key again returns the existing row (whatever its status)."""
    get_job(name)  # fail early on a typo, inside the caller's transaction
    if key is not None:
        found = db.session.scalar(select(OutboxJob).where(OutboxJob.key == key))
        if found is not None:
            return found
    row = OutboxJob(name=name, queue=queue, run_at=run_at, key=key,
                    payload=json.dumps(payload, ensure_ascii=False, default=str))
    if key is None:
        db.session.add(row)
        db.session.flush()
    else:
        try:
            with db.session.begin_nested():  # a concurrent enqueue of the same key wins
                db.session.add(row)
        except IntegrityError:
            return db.session.scalars(select(OutboxJob).where(OutboxJob.key == key)).one()
    db.session.info["cecp_jobs"] = True
    return row


def _pending(limit: int, due_only: bool):
    stmt = select(OutboxJob).where(OutboxJob.status == "pending")
    if due_only:
        stmt = stmt.where(or_(OutboxJob.run_at.is_(None), OutboxJob.run_at <= utcnow()))
    # two dispatchers never hand the same row over twice (SQLite ignores the clause)
    return stmt.order_by(OutboxJob.id).limit(limit).with_for_update(skip_locked=True)


def dispatch_pending(limit: int = 500) -> int:
    """Hand pending rows to rq (future ones with `enqueue_at`), or run the due ones here
    when no Redis is configured. Commits."""
    conn = queues.connection()
    if conn is None:
        return _run_embedded(limit)
    rows = db.session.scalars(_pending(limit, due_only=False)).all()
    now, lease = utcnow(), timedelta(seconds=settings.get("CECP_JOB_LEASE_SECONDS"))
    handed = 0
    for row in rows:
        try:
            q = queues.queue(row.queue, conn)
            kwargs = {"job_id": f"outbox-{row.id}-{uuid.uuid4().hex[:8]}", "retry": None}
            if row.run_at and row.run_at > now:
                q.enqueue_at(whole_second_up(row.run_at), RUNNER, row.id, **kwargs)
            else:
                q.enqueue(RUNNER, row.id, **kwargs)
        except RedisError as exc:
            log.warning("outbox dispatch paused, Redis unavailable: %s", exc)
            break
        row.status, row.dispatched_at = "dispatched", now
        row.lease_until = max(row.run_at or now, now) + lease
        handed += 1
    db.session.commit()
    return handed


def _run_embedded(limit: int) -> int:
    """Run due rows in this process, including the jobs those jobs enqueue (bounded)."""
    from app.jobs.runner import run_job

    info = db.session.info
    if info.get("cecp_dispatching"):  # a job's own commit: the outer loop picks them up
        return 0
    info["cecp_dispatching"] = True
    ran = 0
    try:
        for _ in range(20):
            ids = [r.id for r in db.session.scalars(_pending(limit, due_only=True)).all()]
            db.session.commit()
            if not ids:
                break
            for job_id in ids:
                run_job(job_id)
            ran += len(ids)
    finally:
        info.pop("cecp_dispatching", None)
    return ran
