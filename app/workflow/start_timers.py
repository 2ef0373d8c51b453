"""Timer start events that create instances (Camunda semantics), through the periodic jobs.

A deployed model whose top-level start event has a ``timeCycle`` (ISO 8601 ``R3/PT1H`` or a
cron expression) or a ``timeDate`` is started by the platform at each occurrence: one new
instance each time, started by the system (no initiator, no enterprise or region: its lane
tasks go to users whose scope covers all data unless the process sets its case otherwise).
The schedule of each model lives in `workflow_start_timer`; the periodic job
``workflow.start_timers`` (every ``CECP_WORKFLOW_SWEEP_SECONDS``) syncs it with the latest
version and starts what is due, one model per transaction. The new instance's own start
timer is fired once at creation (a cycle is closed, so it never re-runs inside it).

A model started by a person keeps SpiffWorkflow's behaviour (the start timer delays it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.jobs import periodic
from app.workflow import deploy, engine, persistence, service
from app.workflow.context import CaseContext, case
from app.workflow.engine.cron import Cron, CronTimerEventDefinition
from app.workflow.errors import NotFound

JOB = "workflow.start_timers"


class StartTimer(db.Model):
    """The next occurrence of a model's timer start event."""

    __tablename__ = "workflow_start_timer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_model.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)
    event_id: Mapped[str] = mapped_column(String(200), nullable=False)
    expression: Mapped[str] = mapped_column(String(200), nullable=False)
    next_fire_at: Mapped[datetime | None] = mapped_column(DateTime)  # naive UTC; None: done
    remaining: Mapped[int] = mapped_column(Integer, nullable=False, default=-1)  # -1: for ever
    started: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


def timer_start(bundle: engine.ModelBundle) -> Any | None:
    """The top-level timer start event spec of a model (None: not timer-started)."""
    for ts in bundle.spec.task_specs.values():
        if isinstance(ts, StartEvent) and isinstance(
            getattr(ts, "event_definition", None), TimerEventDefinition
        ):
            return ts
    return None


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _text(definition: Any) -> str:
    return str(definition.expression or "").strip().strip("'\"")


def schedule(definition: Any, now: datetime) -> tuple[datetime | None, int]:
    """(first occurrence after `now`, occurrences) of a start timer definition."""
    text = _text(definition)
    if isinstance(definition, CronTimerEventDefinition):
        return Cron(text).next_after(now), -1
    if isinstance(definition, CycleTimerEventDefinition):
        cycles, start, _ = TimerEventDefinition.parse_iso_recurring_interval(text)
        return start, cycles
    if isinstance(definition, TimeDateEventDefinition):
        when = TimerEventDefinition.parse_time_or_duration(text)
        return (when if when > now else None), 1
    return None, 0  # a duration on a start event: nothing to schedule


def following(definition: Any, previous: datetime, now: datetime) -> datetime | None:
    text = _text(definition)
    if isinstance(definition, CronTimerEventDefinition):
        return Cron(text).next_after(now)
    if isinstance(definition, CycleTimerEventDefinition):
        _, _, duration = TimerEventDefinition.parse_iso_recurring_interval(text)
        nxt = previous + duration
        while nxt <= now and duration.total_seconds() > 0:
            nxt += duration
        return nxt
    return None


def models() -> list[int]:
    """Periodic items: models whose latest version starts with a timer (read-only)."""
    out = []
    for model in deploy.get_all():
        try:
            _, version = deploy.get_latest(key_or_id=model.id)
        except NotFound:
            continue
        if timer_start(deploy.loaded(version).bundle) is not None:
            out.append(model.id)
    return out


def _sync(model_id: int, now: datetime) -> tuple[StartTimer | None, Any]:
    model, version = deploy.get_latest(key_or_id=model_id)
    spec = timer_start(deploy.loaded(version).bundle)
    row = db.session.scalar(select(StartTimer).where(StartTimer.model_id == model_id))
    if spec is None:
        if row is not None:
            db.session.delete(row)
        return None, None
    if row is None or row.version_id != version.id:
        first, count = schedule(spec.event_definition, now)
        if row is None:
            row = StartTimer(model_id=model_id)
            db.session.add(row)
        row.version_id, row.event_id = version.id, spec.name
        row.expression = _text(spec.event_definition)[:200]
        row.next_fire_at = _naive(first) if first else None
        row.remaining = count
        db.session.flush()
    return row, spec


def _fire_start_event(wf: Any, event_id: str) -> None:
    """Run the new instance's own start timer once, closing a cycle."""
    for timer in engine.waiting_timers(wf):
        task = wf.get_task_from_id(UUID(timer.task_id))
        if task.task_spec.name != event_id:
            continue
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
            task._set_internal_data(event_value={"cycles": 1, "next": past, "duration": 0})
            engine.refresh(wf)
            engine.refresh(wf)  # cycles exhausted: the start event completes
        else:
            task._set_internal_data(event_value=past)
            engine.refresh(wf)


def fire(model_id: int, now: datetime | None = None) -> bool:
    """One periodic item: sync the model's schedule and start an instance when due."""
    moment = now or datetime.now(UTC)
    row, spec = _sync(model_id, moment)
    if row is None or row.next_fire_at is None or row.remaining == 0:
        return False
    if row.next_fire_at.replace(tzinfo=UTC) > moment:
        return False
    model, _ = deploy.get_latest(key_or_id=model_id)
    inst = service.start(model=model.key, data={}, user=None)
    opened = persistence.open_instance(inst)
    ctx = CaseContext.of(inst)
    with case(ctx):
        try:
            _fire_start_event(opened.wf, row.event_id)
            error = None
        except Exception as exc:  # noqa: BLE001 - the instance errs, the schedule goes on
            error = persistence.describe(exc)
        persistence.save(
            inst=inst,
            wf=opened.wf,
            loaded=opened.loaded,
            ctx=ctx,
            before=opened.before,
            error=error,
        )
    ctx.journal.history(instance_id=inst.id, action="timer", label="定时启动")
    ctx.journal.audit(
        "workflow.timer.start",
        object_type="workflow_model",
        object_id=model.key,
        email="system",
        summary={"instance": inst.id, "event": row.event_id, "expression": row.expression},
    )
    if error:
        service.record_error(ctx.journal, inst, error, None)
    ctx.journal.write()
    row.started += 1
    if row.remaining > 0:
        row.remaining -= 1
    nxt = (
        following(spec.event_definition, row.next_fire_at.replace(tzinfo=UTC), moment)
        if row.remaining != 0
        else None
    )
    row.next_fire_at = _naive(nxt) if nxt else None
    db.session.flush()
    return True


def run() -> int:
    """Start every due timer-started model now (tests, `cecp processes sweep`)."""
    return periodic.run_now(JOB)


def register_periodic() -> None:
    periodic.register(JOB, every="CECP_WORKFLOW_SWEEP_SECONDS", default=30, items=models, run=fire)
