"""Loading and saving a stepped instance: the version-guarded UPDATE first, then the
deferred service writes, the inbox rows, the timer rows (and their rq jobs) and the message
routing.

Order matters: the ``UPDATE workflow_instance ... WHERE version = :v`` is the first write of
every step, so a concurrent loser fails before it has written anything and every
transaction takes the instance row lock before the audit chain's lock (no deadlocks).

The derived rows (inbox, timers, message waits) are a function of the blob and the status
(`derive`), written in the same transaction as the blob under the version guard; so the
rows of the stored version are known from the blob just loaded (`Opened.before`) and a step
writes only the difference, without reading them back: a delete, an insert and (rarely)
updates per table, deferred (`app.write_batch`) so that on PostgreSQL they reach the server
with the history row as one statement; the audit records are appended at the commit.
"""

from __future__ import annotations

import json
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.db import utcnow
from app.extensions import db
from app.jobs import outbox, queues
from app.workflow import deploy, engine
from app.workflow.context import CaseContext
from app.workflow.deploy import LoadedVersion
from app.workflow.engine.events import conversation_of
from app.workflow.engine.ready import accelerate
from app.workflow.engine.steps import run_engine
from app.workflow.errors import STALE_MESSAGE, Conflict
from app.workflow.models import ProcessInstance, WorkTask
from app.write_batch import defer, defer_insert, in_list, list_params

# The statements of every step, built once (bound parameters only): they run on the
# session's connection, skipping the per-call construction and the ORM layer. The derived
# rows' writes are deferred (`app.write_batch`): one statement for all of them on PostgreSQL.
_INSTANCE = ProcessInstance.__table__
_UPDATE_INSTANCE = update(_INSTANCE).where(
    _INSTANCE.c.id == bindparam("b_id"), _INSTANCE.c.version == bindparam("b_version"))
_DELETE_TASKS = "DELETE FROM workflow_task WHERE instance_id = :instance"
_UPDATE_TASK_DUE = "UPDATE workflow_task SET due_at = :due_at WHERE id = :id"
_DELETE_TIMERS = "DELETE FROM workflow_timer WHERE instance_id = :instance AND task_id IN "
_UPDATE_TIMER = ("UPDATE workflow_timer SET fire_at = :fire_at "
                 "WHERE instance_id = :instance AND task_id = :id")
_DELETE_WAITS = "DELETE FROM workflow_message_wait WHERE instance_id = :instance AND name IN "


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def unstarted(bundle: engine.ModelBundle, data: dict[str, Any]) -> BpmnWorkflow:
    """`engine.new_workflow` without running: a failing first service task can then leave
    the new instance in the error state instead of losing it."""
    wf = accelerate(BpmnWorkflow(bundle.spec, bundle.subprocess_specs,
                                 script_engine=engine.runtime.DEFAULT_ENGINE))
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


@dataclass(frozen=True)
class Derived:
    """The rows an instance has besides its blob: ready human tasks (id -> the task and its
    due date), waiting timers (task id -> fire_at, naive UTC) and awaited message names."""

    tasks: dict[str, tuple[engine.HumanTask, datetime | None]]
    timers: dict[str, datetime]
    messages: frozenset[str]


NOTHING = Derived({}, {}, frozenset())


def derive(wf: BpmnWorkflow, status: str, loaded: LoadedVersion) -> Derived:
    """What the derived tables hold for `wf` in `status` (the one definition of it)."""
    if status == "completed":
        return NOTHING
    running = status == "running"
    timers = engine.waiting_timers(wf) if running else []
    ready = engine.ready_human_tasks(wf)
    due = _due_dates(wf, ready, timers) if timers else {}
    messages = frozenset(engine.waiting_messages(wf)) if running and loaded.has_messages \
        else frozenset()
    return Derived({h.task_id: (h, due.get(h.task_id)) for h in ready},
                   {t.task_id: naive_utc(t.fire_at) for t in timers}, messages)


@dataclass
class Opened:
    """A stored instance in memory: its version's bundle, the workflow and its rows."""

    loaded: LoadedVersion
    wf: BpmnWorkflow
    before: Derived


def open_instance(inst: ProcessInstance, loaded: LoadedVersion | None = None) -> Opened:
    """Deserialize an instance with the (cached) bundle of the version it started on."""
    loaded = loaded or deploy.loaded_by_id(inst.version_id, inst.content_hash)
    wf = engine.deserialize(loaded.bundle, inst.blob)
    return Opened(loaded, wf, derive(wf, inst.status, loaded))


def save(*, inst: ProcessInstance, wf: BpmnWorkflow, loaded: LoadedVersion, ctx: CaseContext,
         before: Derived = NOTHING, error: str | None = None) -> None:
    """Persist the stepped workflow and everything derived from it (same transaction).
    `before`: the rows of the stored version (`Opened.before`; nothing for a new one)."""
    messages = engine.outgoing_messages(wf)
    blob = engine.serialize(wf)
    now = utcnow()
    status = "error" if error else ("completed" if engine.is_completed(wf) else "running")
    values = {"blob": blob, "status": status, "error": error, "updated_at": now,
              "completed_at": now if status == "completed" else None}
    if inst.id is None:
        for key, value in values.items():
            setattr(inst, key, value)
        inst.version = 1
        db.session.add(inst)
        db.session.flush()
    else:
        expected = inst.version
        db.session.flush()  # what the session holds goes first (statements run below it)
        result = db.session.connection().execute(
            _UPDATE_INSTANCE, {"b_id": inst.id, "b_version": expected,
                               "version": expected + 1, **values})
        if result.rowcount != 1:
            raise Conflict(STALE_MESSAGE, code="stale")
        for key, value in {**values, "version": expected + 1}.items():
            set_committed_value(inst, key, value)
    ctx.instance_id = inst.id
    deferred, ctx.deferred = ctx.deferred, []
    for fn in deferred:
        fn(inst.id)
    after = derive(wf, status, loaded)
    created = _sync_tasks(inst, before, after)
    if TASK_LISTENERS and (created or (status != "running" and before is not NOTHING)):
        jobs = [row for listener in TASK_LISTENERS
                for row in (listener(inst, created, status) or [])]
        if jobs:  # outbox rows the listeners asked for, in the action's batched statement
            defer_insert(db.session.connection(), "outbox_job", jobs)
            db.session.info["cecp_jobs"] = True  # dispatched after the commit
    _sync_timers(inst, wf, before, after)
    if before.messages or after.messages:
        _sync_messages(inst, before, after)
    conversation = conversation_of(wf, inst.id) if messages else None
    for message in messages:
        outbox.enqueue("workflow.deliver_message", source_instance_id=inst.id,
                       message=json.loads(json.dumps(
                           {**message.to_dict(), "conversation": conversation}, default=str)))
    for hook in SAVE_HOOKS:
        hook(inst, wf, status, loaded)


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


#: fn(inst, wf, status, loaded) after every save, same transaction: other derived rows
#: (external tasks: `app.workflow.external.service.sync`).
SAVE_HOOKS: list[Any] = []

#: fn(inst, new task rows, status) -> outbox rows (dicts) after a save: the domain side
#: (notifications) listens; persistence writes the rows with the step's deferred writes.
TASK_LISTENERS: list[Any] = []


def _sync_tasks(inst: ProcessInstance, before: Derived, after: Derived) -> list[dict]:
    conn = db.session.connection()
    gone = before.tasks.keys() - after.tasks.keys()
    if gone:  # everything of the instance not ready now (stale rows included)
        keep = list(after.tasks)
        sql = _DELETE_TASKS + (" AND id NOT IN " + in_list("keep", len(keep)) if keep else "")
        defer(conn, sql, {"instance": inst.id, **list_params("keep", keep)})
        for task_id in gone:  # as `session.delete` would: no stale object in the session
            obj = db.session.identity_map.get(identity_key(WorkTask, task_id))
            if obj is not None:
                db.session.expunge(obj)
    rows = []
    for task_id, (h, due) in after.tasks.items():
        if task_id not in before.tasks:
            rows.append({
                "id": task_id, "instance_id": inst.id, "name": h.name, "label": h.label,
                "lane": h.lane, "form_kind": h.form_kind, "form_name": h.form_name,
                "process_key": inst.process_key, "title": inst.title,
                "region_code": inst.region_code, "enterprise_uscc": inst.enterprise_uscc,
                "verification_body_code": inst.verification_body_code,
                "institution_code": inst.institution_code,
                "initiator_id": inst.initiator_id, "assignee_id": None, "due_at": due,
                "created_at": utcnow()})
        elif before.tasks[task_id][1] != due:
            defer(conn, _UPDATE_TASK_DUE, {"id": task_id, "due_at": due})
            obj = db.session.identity_map.get(identity_key(WorkTask, task_id))
            if obj is not None:
                set_committed_value(obj, "due_at", due)
    defer_insert(conn, "workflow_task", rows)
    return rows


def _sync_timers(inst: ProcessInstance, wf: BpmnWorkflow, before: Derived,
                 after: Derived) -> None:
    conn = db.session.connection()
    gone = before.timers.keys() - after.timers.keys()
    if gone:
        defer(conn, _DELETE_TIMERS + in_list("id", len(gone)),
              {"instance": inst.id, **list_params("id", sorted(gone))})
    redis = queues.connection() is not None
    rows = []
    for task_id, fire_at in after.timers.items():
        old = before.timers.get(task_id)
        if old == fire_at:
            continue
        if old is None:
            spec = wf.get_task_from_id(UUID(task_id)).task_spec
            rows.append({"instance_id": inst.id, "task_id": task_id,
                         "name": spec.bpmn_name or spec.name, "fire_at": fire_at})
        else:
            defer(conn, _UPDATE_TIMER, {"instance": inst.id, "id": task_id, "fire_at": fire_at})
        if redis:  # embedded mode: the in-process sweep fires timers
            outbox.enqueue("workflow.fire_timer", run_at=fire_at, instance_id=inst.id)
    defer_insert(conn, "workflow_timer", rows)


def _sync_messages(inst: ProcessInstance, before: Derived, after: Derived) -> None:
    conn = db.session.connection()
    gone = before.messages - after.messages
    if gone:
        defer(conn, _DELETE_WAITS + in_list("name", len(gone)),
              {"instance": inst.id, **list_params("name", sorted(gone))})
    defer_insert(conn, "workflow_message_wait",
                 [{"instance_id": inst.id, "name": n} for n in sorted(after.messages
                                                                     - before.messages)])
