"""Saving a stepped instance: the version-guarded UPDATE first, then the deferred service
writes, the inbox rows, the timer rows (and their rq jobs) and the message routing.

Order matters: the ``UPDATE workflow_instance ... WHERE version = :v`` is the first write of
every step, so a concurrent loser fails before it has written anything and every
transaction takes the instance row lock before the audit chain's lock (no deadlocks).
"""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.db import utcnow
from app.extensions import db
from app.jobs import outbox, queues
from app.workflow import engine
from app.workflow.context import CaseContext
from app.workflow.deploy import LoadedVersion
from app.workflow.engine.steps import run_engine
from app.workflow.errors import STALE_MESSAGE, Conflict
from app.workflow.models import MessageWait, ProcessInstance, TimerSchedule, WorkTask


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def unstarted(bundle: engine.ModelBundle, data: dict[str, Any]) -> BpmnWorkflow:
    """`engine.new_workflow` without running: a failing first service task can then leave
    the new instance in the error state instead of losing it."""
    wf = BpmnWorkflow(bundle.spec, bundle.subprocess_specs,
                      script_engine=engine.runtime.DEFAULT_ENGINE)
    for task in wf.get_tasks(state=TaskState.READY):
        task.set_data(**deepcopy(data))
    return wf


def run_steps(wf: BpmnWorkflow) -> str | None:
    """Run engine steps; an error (failing service task...) is returned, not raised."""
    try:
        run_engine(wf)
    except Exception as exc:  # the instance goes to the error state with this text
        return describe(exc)
    return None


def describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    spec = getattr(getattr(exc, "task", None), "task_spec", None)
    if spec is not None:
        text = f"{spec.bpmn_name or spec.name}（{spec.name}）: {text}"
    return text[:4000]


def reset_errors(wf: BpmnWorkflow) -> int:
    """Put tasks in ERROR back to READY (retry); returns how many."""
    tasks = wf.get_tasks(state=TaskState.ERROR)
    for task in tasks:
        task._set_state(TaskState.READY)
    return len(tasks)


def save(*, inst: ProcessInstance, wf: BpmnWorkflow, loaded: LoadedVersion, ctx: CaseContext,
         error: str | None = None) -> None:
    """Persist the stepped workflow and everything derived from it (same transaction)."""
    messages = engine.outgoing_messages(wf)
    blob = engine.serialize(wf)
    now = utcnow()
    status = "error" if error else ("completed" if engine.is_completed(wf) else "running")
    values = {"blob": blob, "status": status, "error": error, "updated_at": now,
              "completed_at": now if status == "completed" else None}
    fresh = inst.id is None
    if fresh:
        for key, value in values.items():
            setattr(inst, key, value)
        inst.version = 1
        db.session.add(inst)
        db.session.flush()
    else:
        expected = inst.version
        result = db.session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == inst.id, ProcessInstance.version == expected)
            .values(version=expected + 1, **values)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict(STALE_MESSAGE, code="stale")
        for key, value in {**values, "version": expected + 1}.items():
            set_committed_value(inst, key, value)
    ctx.instance_id = inst.id
    deferred, ctx.deferred = ctx.deferred, []
    for fn in deferred:
        fn(inst.id)
    timers = engine.waiting_timers(wf) if status == "running" else []
    _sync_tasks(inst, wf, timers if status != "completed" else [], fresh)
    _sync_timers(inst, wf, timers, fresh)
    if loaded.has_messages or messages:
        _sync_messages(inst, wf, messages, fresh, status)


def _due_dates(wf: BpmnWorkflow, ready: list[engine.HumanTask],
               timers: list[engine.WaitingTimer]) -> dict[str, datetime]:
    """A task's deadline = its earliest interrupting boundary timer."""
    by_parent: dict[Any, datetime] = {}
    for timer in timers:
        task = wf.get_task_from_id(UUID(timer.task_id))
        if getattr(task.task_spec, "cancel_activity", False) and task.parent is not None:
            at = naive_utc(timer.fire_at)
            key = task.parent.id
            by_parent[key] = min(at, by_parent.get(key, at))
    out = {}
    for h in ready:
        parent = wf.get_task_from_id(UUID(h.task_id)).parent
        if parent is not None and parent.id in by_parent:
            out[h.task_id] = by_parent[parent.id]
    return out


def _sync_tasks(inst: ProcessInstance, wf: BpmnWorkflow, timers: list[engine.WaitingTimer],
                fresh: bool) -> None:
    ready = engine.ready_human_tasks(wf) if inst.status != "completed" else []
    existing: dict[str, WorkTask] = {} if fresh else {t.id: t for t in db.session.scalars(
        select(WorkTask).where(WorkTask.instance_id == inst.id))}
    keep = {h.task_id for h in ready}
    for task_id, row in existing.items():
        if task_id not in keep:
            db.session.delete(row)
    due = _due_dates(wf, ready, timers) if timers else {}
    for h in ready:
        row = existing.get(h.task_id)
        if row is not None:
            row.due_at = due.get(h.task_id)
            continue
        db.session.add(WorkTask(
            id=h.task_id, instance_id=inst.id, name=h.name, label=h.label, lane=h.lane,
            form_kind=h.form_kind, form_name=h.form_name, process_key=inst.process_key,
            title=inst.title, region_code=inst.region_code,
            enterprise_uscc=inst.enterprise_uscc, initiator_id=inst.initiator_id,
            due_at=due.get(h.task_id)))


def _sync_timers(inst: ProcessInstance, wf: BpmnWorkflow, timers: list[engine.WaitingTimer],
                 fresh: bool) -> None:
    existing: dict[str, TimerSchedule] = {} if fresh else {t.task_id: t for t in
                                                           db.session.scalars(
        select(TimerSchedule).where(TimerSchedule.instance_id == inst.id))}
    wanted = {t.task_id: naive_utc(t.fire_at) for t in timers}
    for task_id, row in existing.items():
        if task_id not in wanted:
            db.session.delete(row)
    redis = queues.connection() is not None
    for task_id, fire_at in wanted.items():
        row = existing.get(task_id)
        if row is not None and row.fire_at == fire_at:
            continue
        if row is None:
            spec = wf.get_task_from_id(UUID(task_id)).task_spec
            db.session.add(TimerSchedule(instance_id=inst.id, task_id=task_id,
                                         name=spec.bpmn_name or spec.name, fire_at=fire_at))
        else:
            row.fire_at = fire_at
        if redis:  # embedded mode: the in-process sweep fires timers
            outbox.enqueue("workflow.fire_timer", run_at=fire_at, instance_id=inst.id)


def _sync_messages(inst: ProcessInstance, wf: BpmnWorkflow, messages: list[engine.Message],
                   fresh: bool, status: str) -> None:
    names = set(engine.waiting_messages(wf)) if status == "running" else set()
    existing: dict[str, MessageWait] = {} if fresh else {m.name: m for m in db.session.scalars(
        select(MessageWait).where(MessageWait.instance_id == inst.id))}
    for name, row in existing.items():
        if name not in names:
            db.session.delete(row)
    for name in names - set(existing):
        db.session.add(MessageWait(instance_id=inst.id, name=name))
    for message in messages:
        outbox.enqueue("workflow.deliver_message", source_instance_id=inst.id,
                       message=json.loads(json.dumps(message.to_dict(), default=str)))
