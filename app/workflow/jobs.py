"""Background work of the workflow: timers and messages between instances.

A timer fires through two independent paths: the `workflow.fire_timer` job scheduled with
rq `enqueue_at` for its due time (precise), and the periodic timer sweep registered in
`app.jobs.periodic` (the safety net when that job is lost; in embedded mode the only
path). The sweep steps one instance per transaction.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.jobs import periodic
from app.jobs.registry import job
from app.workflow import events
from app.workflow.errors import WorkflowError
from app.workflow.models import TimerSchedule

SWEEP = "workflow.sweep_timers"


@job("workflow.fire_timer")
def fire_timer(instance_id: int) -> None:
    """Scheduled with enqueue_at for a timer's due time; a no-op if nothing is due."""
    events.fire_timers(instance_id=instance_id)


@job("workflow.deliver_message")
def deliver_message(message: dict, source_instance_id: int | None = None) -> None:
    events.deliver(message=message, source_instance_id=source_instance_id)


def due_instances(*, limit: int = 500) -> list[int]:
    """Instances with a due timer, oldest due first."""
    return list(db.session.scalars(
        select(TimerSchedule.instance_id).where(TimerSchedule.fire_at <= utcnow())
        .group_by(TimerSchedule.instance_id)
        .order_by(db.func.min(TimerSchedule.fire_at)).limit(limit)).all())


def fire_due(instance_id: int) -> bool:
    """One sweep step (the ticker commits after it): False when nothing fired. A conflict
    (someone else just stepped the instance) is left to the next sweep."""
    try:
        with db.session.begin_nested():
            return bool(events.fire_timers(instance_id=instance_id))
    except WorkflowError as exc:
        current_app.logger.info("timer sweep: instance %s skipped: %s", instance_id, exc)
        return False


def sweep() -> int:
    """Fire every due timer now, one instance per transaction (commits)."""
    return periodic.run_now(SWEEP)


def register_periodic() -> None:
    periodic.register(SWEEP, every="CECP_WORKFLOW_SWEEP_SECONDS", default=30,
                      items=due_instances, run=fire_due)
