"""Background work of the workflow: timers (rq ``enqueue_at`` + a periodic sweep as the
safety net; in embedded mode the sweep runs in-process) and messages between instances."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.jobs import outbox, queues
from app.jobs.models import OutboxJob
from app.jobs.registry import job
from app.workflow import events
from app.workflow.errors import WorkflowError
from app.workflow.models import TimerSchedule


@job("workflow.fire_timer")
def fire_timer(instance_id: int) -> None:
    """Scheduled with enqueue_at for a timer's due time; a no-op if nothing is due."""
    events.fire_timers(instance_id=instance_id)


@job("workflow.deliver_message")
def deliver_message(message: dict, source_instance_id: int | None = None) -> None:
    events.deliver(message=message, source_instance_id=source_instance_id)


def sweep(*, limit: int = 500) -> int:
    """Fire every due timer (each instance in a savepoint: one conflict does not stop the
    rest; it is retried by the next sweep). Returns the number of instances stepped."""
    now = utcnow()
    ids = db.session.scalars(select(TimerSchedule.instance_id).where(
        TimerSchedule.fire_at <= now).distinct().limit(limit)).all()
    stepped = 0
    for instance_id in ids:
        try:
            with db.session.begin_nested():
                if events.fire_timers(instance_id=instance_id, now=now):
                    stepped += 1
        except WorkflowError as exc:
            current_app.logger.info("timer sweep: instance %s skipped: %s", instance_id, exc)
        except Exception:  # one broken instance must not stop the sweep
            current_app.logger.exception("timer sweep: instance %s failed", instance_id)
    return stepped


@job("workflow.sweep_timers")
def sweep_timers() -> int:
    """The periodic safety net; with Redis it schedules its own next run."""
    stepped = sweep()
    if queues.connection() is not None:
        schedule_sweep()
    return stepped


def schedule_sweep() -> None:
    """Make sure one future sweep is queued (idempotent)."""
    every = int(current_app.config.get("CECP_WORKFLOW_SWEEP_SECONDS") or 60)
    pending = db.session.scalar(select(OutboxJob.id).where(
        OutboxJob.name == "workflow.sweep_timers", OutboxJob.status.in_(("pending", "dispatched")),
        OutboxJob.run_at > utcnow()).limit(1))
    if pending is None:
        outbox.enqueue("workflow.sweep_timers", run_at=utcnow() + timedelta(seconds=every))


def init_embedded_sweep(app: Flask) -> None:
    """Without Redis, sweep due timers in-process, at most every N seconds, before a request
    (in its own transaction, committed before the request's work begins)."""
    state = {"last": time.monotonic()}

    @app.before_request
    def _workflow_sweep() -> None:
        every = app.config.get("CECP_WORKFLOW_SWEEP_SECONDS")
        if every is None:
            every = 0 if app.testing else 30
        if not every or app.config.get("CECP_REDIS_URL"):
            return
        now = time.monotonic()
        if now - state["last"] < float(every):
            return
        state["last"] = now
        try:
            sweep()
            from app.uow import commit

            commit()
        except Exception:  # never break the user's request because of a timer
            db.session.rollback()
            app.logger.exception("in-process timer sweep failed")
