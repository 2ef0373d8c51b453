"""Execute one outbox job by id, in its own transaction; safe to call twice."""

from __future__ import annotations

import json
import traceback

from flask import current_app, has_app_context

from app.db import utcnow
from app.extensions import db
from app.jobs.models import OutboxJob
from app.jobs.registry import get as get_job


def _execute(job_id: int) -> str:
    row = db.session.get(OutboxJob, job_id, with_for_update=True)
    if row is None:
        return "missing"
    if row.status == "done":
        db.session.rollback()
        return "done"
    row.attempts += 1
    name, payload = row.name, json.loads(row.payload or "{}")
    try:
        get_job(name)(**payload)
        row = db.session.get(OutboxJob, job_id)
        row.status, row.finished_at, row.last_error = "done", utcnow(), None
        db.session.commit()
        return "done"
    except Exception:
        db.session.rollback()
        row = db.session.get(OutboxJob, job_id)
        row.attempts += 1
        row.status, row.last_error = "failed", traceback.format_exc()[-4000:]
        db.session.commit()
        if current_app.config.get("CECP_REDIS_URL"):
            raise
        current_app.logger.exception("job %s (%s) failed", job_id, name)
        return "failed"


def run_job(job_id: int) -> str:
    """Entry point for rq: push an application context when the worker has none."""
    if has_app_context():
        return _execute(job_id)
    from app import create_app

    with create_app().app_context():
        return _execute(job_id)
