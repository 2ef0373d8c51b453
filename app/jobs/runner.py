"""Execute one outbox job by id. The runner owns the unit of work: job functions flush,
never commit; their effect and the row's `done` commit together, so a run that dies
(exception, SIGKILL, lost connection) leaves no effect and is run again.

Three short steps, each its own transaction:
1. claim: lock the row (SKIP LOCKED: a row another runner holds is left alone), refuse it
   unless it is waiting (or its lease passed), count the attempt, lease it, commit;
2. run: lock the row again, check that the claim is still ours (attempt number), call
   the job, mark it done, commit (the commit dispatches the jobs it enqueued);
3. on failure: roll back, then schedule a retry with exponential backoff, or dead-letter
   the row after the last attempt.
"""

from __future__ import annotations

import json
import traceback
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.jobs import settings
from app.jobs.models import FINISHED, OutboxJob
from app.jobs.registry import get as get_job
from app.uow import commit as commit_uow

#: an rq job may arrive a little before `run_at` (clock skew between nodes)
EARLY = timedelta(seconds=2)


def _locked(job_id: int, *, skip: bool) -> OutboxJob | None:
    stmt = select(OutboxJob).where(OutboxJob.id == job_id).execution_options(
        populate_existing=True).with_for_update(skip_locked=skip)
    return db.session.scalar(stmt)


def log_attempt(row: OutboxJob, **entry: object) -> None:
    log = json.loads(row.attempt_log or "[]")
    if log and log[-1].get("n") == entry.get("n"):
        log[-1].update(entry)
    else:
        log.append(entry)
    row.attempt_log = json.dumps(log[-50:], ensure_ascii=False, default=str)


def claim(job_id: int) -> int | None:
    """Step 1: the attempt number we own, or None (finished, held elsewhere, not due)."""
    now = utcnow()
    row = _locked(job_id, skip=True)
    if row is None or row.status in FINISHED or (
            row.status == "running" and row.lease_until and row.lease_until > now) or (
            row.run_at and row.run_at > now + EARLY):
        db.session.rollback()
        return None
    row.status, row.attempts, row.started_at = "running", row.attempts + 1, now
    row.lease_until = now + timedelta(seconds=settings.get("CECP_JOB_LEASE_SECONDS"))
    log_attempt(row, n=row.attempts, at=now.isoformat(timespec="milliseconds"))
    attempt = row.attempts
    db.session.commit()
    return attempt


def fail(job_id: int, attempt: int, error: str) -> str:
    """Step 3: retry later (backoff) or dead-letter. Returns the new status."""
    row = _locked(job_id, skip=False)
    if row is None or row.attempts != attempt or row.status != "running":
        db.session.rollback()
        return "superseded"
    now = utcnow()
    row.last_error, row.lease_until = error[-4000:], None
    log_attempt(row, n=attempt, error=error.strip().splitlines()[-1][:300])
    if attempt >= settings.max_attempts():
        row.status, row.finished_at = "dead", now
    else:
        row.status = "pending"
        row.run_at = now + timedelta(seconds=settings.backoff(attempt))
        db.session.info["cecp_jobs"] = True  # with Redis: hand the retry over (enqueue_at)
    status = row.status
    commit_uow()
    return status


def _execute(job_id: int) -> str:
    attempt = claim(job_id)
    if attempt is None:  # finished ("done" etc.), held by another runner or not due
        status = db.session.scalar(select(OutboxJob.status).where(OutboxJob.id == job_id))
        db.session.rollback()
        return status if status in FINISHED else "skipped"
    name = "?"
    try:
        row = _locked(job_id, skip=False)
        if row is None or row.attempts != attempt or row.status != "running":
            db.session.rollback()  # reclaimed and claimed by another runner meanwhile
            return "superseded"
        name, payload = row.name, json.loads(row.payload or "{}")
        get_job(name)(**payload)
        row = db.session.get(OutboxJob, job_id)
        row.status, row.finished_at, row.last_error, row.lease_until = \
            "done", utcnow(), None, None
        commit_uow()
        return "done"
    except Exception:
        db.session.rollback()
        current_app.logger.exception("job %s (%s) attempt %s failed", job_id, name, attempt)
        return fail(job_id, attempt, traceback.format_exc())


def run_job(job_id: int) -> str:
    """Entry point for rq: push an application context when the worker has none. Never
    raises for a job's failure: the outbox row, not rq, keeps retries and dead letters."""
    if has_app_context():
        return _execute(job_id)
    from app import create_app

    with create_app().app_context():
        return _execute(job_id)
