"""The public face of the jobs package for administrators: what is stuck or dead, and the
two actions on a dead letter (retry, discard). Flushes, never commits; every action is
audited in the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.jobs.models import OutboxJob


class NotDead(LookupError):
    """The row does not exist or is no longer a dead letter (someone acted first)."""


def counts() -> dict[str, int]:
    """Rows per status (the outbox depth is pending + dispatched + running)."""
    rows = db.session.execute(select(OutboxJob.status, func.count()).group_by(
        OutboxJob.status)).all()
    return {status: n for status, n in rows}


def list_dead(*, limit: int = 200) -> list[OutboxJob]:
    return list(db.session.scalars(select(OutboxJob).where(OutboxJob.status == "dead")
                                   .order_by(OutboxJob.finished_at.desc()).limit(limit)))


def payload_summary(row: OutboxJob, width: int = 160) -> str:
    text = json.dumps(json.loads(row.payload or "{}"), ensure_ascii=False, sort_keys=True)
    return text if len(text) <= width else text[:width - 1] + "…"


def attempts_of(row: OutboxJob) -> list[dict[str, Any]]:
    return json.loads(row.attempt_log or "[]")


def _dead(job_id: int) -> OutboxJob:
    row = db.session.scalar(select(OutboxJob).where(OutboxJob.id == job_id)
                            .with_for_update())
    if row is None or row.status != "dead":
        raise NotDead(f"任务 #{job_id} 不存在或已不在死信中")
    return row


def _audit(action: str, row: OutboxJob, user: Any) -> None:
    audit.record(action, object_type="outbox_job", object_id=row.id, user=user,
                 summary={"job": row.name, "attempts": row.attempts,
                          "payload": payload_summary(row, 300),
                          "error": (row.last_error or "").strip().splitlines()[-1:]})


def retry(*, job_id: int, user: Any) -> OutboxJob:
    """Give a dead letter a fresh set of attempts; the caller's commit dispatches it."""
    row = _dead(job_id)
    _audit("job.retry", row, user)
    row.status, row.attempts, row.run_at, row.finished_at = "pending", 0, None, None
    row.lease_until = None
    db.session.info["cecp_jobs"] = True
    db.session.flush()
    return row


def discard(*, job_id: int, user: Any) -> OutboxJob:
    """Give up on a dead letter for good (the row stays, marked discarded)."""
    row = _dead(job_id)
    _audit("job.discard", row, user)
    row.status, row.finished_at = "discarded", utcnow()
    db.session.flush()
    return row
