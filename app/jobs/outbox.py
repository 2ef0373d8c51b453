"""Enqueue in the caller's transaction; dispatch after it commits.

A row from a rolled-back transaction never exists, so it never runs. A row committed while
Redis is down stays `pending` and the next dispatch (after the next commit, or the worker's
periodic sweep) hands it over.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.jobs import queues
from app.jobs.models import OutboxJob
from app.jobs.registry import get as get_job

log = logging.getLogger(__name__)


def whole_second_up(at: datetime) -> datetime:
    """rq's scheduler keeps whole seconds (it truncates): a job scheduled for 12:00:00.4
    would start at 12:00:00, before its time. The next whole second never is early."""
    return at if not at.microsecond else at.replace(microsecond=0) + timedelta(seconds=1)


def enqueue(name: str, *, queue: str = "default", run_at: datetime | None = None,
            **payload: Any) -> OutboxJob:
    get_job(name)  # fail early on a typo, inside the caller's transaction
    row = OutboxJob(name=name, queue=queue, run_at=run_at,
                    payload=json.dumps(payload, ensure_ascii=False, default=str))
    db.session.add(row)
    db.session.flush()
    db.session.info["cecp_jobs"] = True
    return row


def dispatch_pending(limit: int = 500) -> int:
    """Hand pending rows to rq, or run them here when no Redis is configured."""
    ids = db.session.scalars(
        select(OutboxJob.id).where(OutboxJob.status == "pending")
        .order_by(OutboxJob.id).limit(limit)
    ).all()
    if not ids:
        return 0
    conn = queues.connection()
    if conn is None:
        from app.jobs.runner import run_job

        for job_id in ids:
            run_job(job_id)
        return len(ids)
    handed = 0
    for job_id in ids:
        row = db.session.get(OutboxJob, job_id)
        if row is None or row.status != "pending":
            continue
        try:
            q = queues.queue(row.queue, conn)
            kwargs = {"job_id": f"outbox-{row.id}", "retry": None}
            if row.run_at and row.run_at > utcnow():
                q.enqueue_at(whole_second_up(row.run_at), "app.jobs.runner.run_job", row.id,
                             **kwargs)
            else:
                q.enqueue("app.jobs.runner.run_job", row.id, **kwargs)
        except RedisError as exc:
            log.warning("outbox dispatch paused, Redis unavailable: %s", exc)
            db.session.rollback()
            break
        row.status = "dispatched"
        row.dispatched_at = utcnow()
        db.session.commit()
        handed += 1
    return handed
