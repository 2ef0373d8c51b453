"""Timer and message events of instances: fire due timers (rq job and sweep, `jobs.py`),
move timers (administrators, tests), deliver messages between instances.

Same rules as `service`: flush, never commit; the version-guarded save first; history and
audit records written by the action's journal at its end.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from app.db import utcnow
from app.extensions import db
from app.workflow import engine, persistence
from app.workflow.context import CaseContext, case
from app.workflow.models import ProcessInstance
from app.workflow.service import check_running, get_instance, record_error


def fire_timers(*, instance_id: int, now: datetime | None = None) -> list[str]:
    """Fire the instance's due timers (rq job and sweep); returns the fired timer names."""
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is None or inst.status != "running":
        return []
    opened = persistence.open_instance(inst)
    wf = opened.wf
    moment = now or utcnow()
    if not any(at <= moment for at in opened.before.timers.values()):
        return []
    ctx = CaseContext.of(inst)
    with case(ctx):
        try:
            fired = engine.refresh(wf)
            error = None
        except Exception as exc:  # noqa: BLE001 - reminder service failed
            fired, error = [], persistence.describe(exc)
        names = [wf.get_task_from_id(UUID(t)).task_spec.bpmn_name or "定时器" for t in fired]
        persistence.save(inst=inst, wf=wf, loaded=opened.loaded, ctx=ctx,
                         before=opened.before, error=error)
    journal = ctx.journal
    for name in names:
        journal.history(instance_id=inst.id, action="timer", label=name)
    journal.audit("workflow.timer.fire", object_type="workflow_instance", object_id=inst.id,
                  email="system", summary={"timers": names})
    if error:
        record_error(journal, inst, error, None)
    journal.write()
    return names


def move_timers(*, instance_id: int, fire_at: datetime, user: Any,
                names: set[str] | None = None) -> int:
    """Administrators (and tests): move waiting timers (by BPMN id) to `fire_at` (UTC)."""
    inst = get_instance(instance_id=instance_id, user=user)
    check_running(inst)
    opened = persistence.open_instance(inst)
    wf = opened.wf
    when = fire_at if fire_at.tzinfo else fire_at.replace(tzinfo=UTC)
    moved = 0
    for timer in engine.waiting_timers(wf):
        spec = wf.get_task_from_id(UUID(timer.task_id)).task_spec
        if names is None or spec.name in names:
            engine.set_timer_due(wf, timer.task_id, when)
            moved += 1
    ctx = CaseContext.of(inst, user)
    persistence.save(inst=inst, wf=wf, loaded=opened.loaded, ctx=ctx, before=opened.before)
    ctx.journal.audit("workflow.timer.move", object_type="workflow_instance",
                      object_id=inst.id, user=user,
                      summary={"timers": moved, "fire_at": when.isoformat()})
    ctx.journal.write()
    return moved


def deliver(*, message: dict[str, Any], source_instance_id: int | None = None) -> list[int]:
    """Route a message between instances (rules: `app.workflow.messaging.flows`)."""
    from app.workflow.messaging import flows

    return flows.deliver(message=message, source_instance_id=source_instance_id)
