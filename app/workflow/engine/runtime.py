"""Running instances in memory: start, list and complete human tasks, (de)serialize, timers
and messages. No database here; the persistence layer calls these around its transactions.

Typical request (unit of work): ``wf = deserialize(bundle, row.blob)`` ->
``complete_task(wf, task_id, data)`` -> ``row.blob = serialize(wf)``, rewrite the inbox rows
from ``ready_human_tasks(wf)``, the timer rows from ``waiting_timers(wf)``, and deliver
``outgoing_messages(wf)``. If any call raises, discard `wf` (a failed task is left in ERROR
state in memory) and roll back: the last blob stays the truth.

Blobs do not contain the specs (they are stored once per content hash): `deserialize` needs
the bundle (or specs) the instance was started with.
"""

from __future__ import annotations

import json
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import ParallelGateway
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.util.task import TaskState

from .data_limit import BOUND, data_size, too_large_message
from .errors import EngineError, FormValidationError, TaskNotReady
from .events import (
    CecpMessageEventDefinition,
    Message,
    SpiffMessageEventDefinition,
    deliver_message,
    outgoing_messages,
    waiting_messages,
)
from .forms import validate_data
from .parser import ModelBundle
from .ready import accelerate
from .script_engine import RestrictedScriptEngine
from .specs import CecpServiceTask, MergingParallelGateway
from .steps import run_engine


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its specs (they are stored once per content hash)."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["spec_name"] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    config[CecpServiceTask] = SPIFF_CONFIG[ServiceTask]
    config[MergingParallelGateway] = SPIFF_CONFIG[ParallelGateway]
    config[CecpMessageEventDefinition] = SPIFF_CONFIG[SpiffMessageEventDefinition]
    registry = DefaultRegistry()
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()},
                      lambda v: date.fromisoformat(v["value"]))
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config, registry))


SERIALIZER = _build_serializer()
DEFAULT_ENGINE = RestrictedScriptEngine()


@dataclass(frozen=True)
class HumanTask:
    """A READY user/manual task, as the inbox stores it."""

    task_id: str            # UUID string, stable across serialization
    name: str               # task spec name = BPMN id
    label: str              # BPMN name
    lane: str | None        # role name; None = the instance's initiator
    form_name: str | None   # forms/<form_name>.json; None for inline or generic forms
    form_kind: str          # "file" | "inline" | "generic"
    process_id: str         # spec name of the (sub)process the task belongs to


def new_workflow(bundle: ModelBundle, data: dict[str, Any] | None = None,
                 script_engine: RestrictedScriptEngine | None = None) -> BpmnWorkflow:
    """Start an instance with initial `data` and run it to the first wait state."""
    wf = accelerate(BpmnWorkflow(bundle.spec, bundle.subprocess_specs,
                                 script_engine=script_engine or DEFAULT_ENGINE))
    for task in wf.get_tasks(state=TaskState.READY):
        task.set_data(**deepcopy(data or {}))
    run_engine(wf)
    return wf


def serialize(wf: BpmnWorkflow) -> str:
    """JSON of the instance state (no specs); Decimal and date survive the round trip."""
    return SERIALIZER.serialize_json(wf)


def deserialize(bundle_or_specs: ModelBundle | tuple[BpmnProcessSpec, dict[str, Any]],
                blob: str | bytes, script_engine: RestrictedScriptEngine | None = None,
                ) -> BpmnWorkflow:
    """Rebuild an instance from `serialize` output with the specs it was started on.

    The script engine is not serialized; the restricted engine is set again here (a
    deserialized workflow would otherwise get Spiff's unrestricted `PythonScriptEngine`).
    """
    if isinstance(bundle_or_specs, ModelBundle):
        spec, subs = bundle_or_specs.spec, bundle_or_specs.subprocess_specs
    else:
        spec, subs = bundle_or_specs
    dct = json.loads(blob)
    version = dct.pop(SERIALIZER.VERSION_KEY, None)
    if version != SERIALIZER.VERSION:
        raise EngineError(f"序列化版本 {version} 与当前 {SERIALIZER.VERSION} 不一致，需要迁移")
    if dct.pop("spec_name", spec.name) != spec.name:
        raise EngineError(f"实例不属于流程 {spec.name}")
    dct["spec"], dct["subprocess_specs"] = spec, subs
    wf = accelerate(SERIALIZER.from_dict(dct))
    wf.script_engine = script_engine or DEFAULT_ENGINE
    return wf


def _find_task(wf: BpmnWorkflow, task_id: str) -> Any:
    try:
        task = wf.get_task_from_id(UUID(str(task_id)))
    except (ValueError, TypeError, TaskNotFoundException) as exc:
        raise TaskNotReady(f"任务不存在: {task_id}") from exc
    if task is None:
        raise TaskNotReady(f"任务不存在: {task_id}")
    return task


def _human_task(task: Any) -> HumanTask:
    spec = task.task_spec
    info = getattr(spec, "cecp_task", None)
    form = info.form if info is not None else None
    return HumanTask(
        task_id=str(task.id), name=spec.name, label=spec.bpmn_name or spec.name,
        lane=spec.lane, form_name=form.name if form else None,
        form_kind=form.kind if form else "generic", process_id=task.workflow.spec.name)


def ready_human_tasks(wf: BpmnWorkflow) -> list[HumanTask]:
    """READY tasks that wait for a person (user and manual tasks), in subprocesses too."""
    return [_human_task(t) for t in wf.get_tasks(state=TaskState.READY, manual=True)]


def is_completed(wf: BpmnWorkflow) -> bool:
    return wf.is_completed()


def complete_task(wf: BpmnWorkflow, task_id: str, data: dict[str, Any],
                  form: dict[str, Any] | None = None) -> None:
    """Complete a READY human task with the submitted data and run to the next wait state.

    If `form` is given the data is validated first (`FormValidationError` with Chinese
    messages). Keys starting with ``_`` are refused: they are reserved and could shadow
    internals in scripts.
    """
    task = _find_task(wf, task_id)
    if not task.task_spec.manual or task.state != TaskState.READY:
        raise TaskNotReady(f"任务不可办理: {task_id}")
    bad = [k for k in data if not isinstance(k, str) or k.startswith("_")]
    if bad:
        raise FormValidationError({k: "字段名不得以下划线开头" for k in map(str, bad)})
    if form is not None:
        errors = validate_data(form, data)
        if errors:
            raise FormValidationError(errors)
    size = data_size({**task.data, **data})
    if BOUND.max_bytes > 0 and size > BOUND.max_bytes:
        raise FormValidationError({"data": too_large_message(size)})
    task.set_data(**deepcopy(data))
    task.run()
    run_engine(wf)


# ---- timers ----------------------------------------------------------------------------

class WaitingTimer(NamedTuple):
    """A timer event waiting to fire; the scheduler should call `refresh` at `fire_at`."""

    task_id: str
    fire_at: datetime


def _timer_tasks(wf: BpmnWorkflow) -> list[Any]:
    return [t for t in wf.event_manager.tasks.values()
            if isinstance(t.task_spec.event_definition, TimerEventDefinition)
            and t.state == TaskState.WAITING]


def _fire_at(task: Any) -> datetime | None:
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        value = value.get("next") if isinstance(value, dict) else None
        return datetime.fromisoformat(value) if value else None
    parsed = TimerEventDefinition.parse_time_or_duration(value) if isinstance(value, str) else value
    return parsed if isinstance(parsed, datetime) else None


def waiting_timers(wf: BpmnWorkflow) -> list[WaitingTimer]:
    """(task_id, fire_at in UTC) of every waiting timer (`waiting_events()` lacks task ids)."""
    out = []
    for task in _timer_tasks(wf):
        fire_at = _fire_at(task)
        if fire_at is not None:
            out.append(WaitingTimer(str(task.id), fire_at.astimezone(UTC)))
    return sorted(out, key=lambda t: t.fire_at)


def set_timer_due(wf: BpmnWorkflow, task_id: str, fire_at: datetime) -> None:
    """Move a waiting timer (administrators extending a deadline; tests); for a cycle timer
    the next occurrence moves, later ones follow its cycle."""
    task = _find_task(wf, task_id)
    if task not in _timer_tasks(wf):
        raise TaskNotReady(f"不是等待中的定时器: {task_id}")
    if fire_at.tzinfo is None:
        raise EngineError("fire_at 必须带时区")
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        value = task._get_internal_data("event_value")
        if not isinstance(value, dict):
            raise EngineError("循环定时器尚未开始，不能修改触发时间")
        task._set_internal_data(event_value={**value,
                                             "next": fire_at.astimezone(UTC).isoformat()})
        return
    task._set_internal_data(event_value=fire_at.astimezone(UTC).isoformat())


def refresh(wf: BpmnWorkflow) -> list[str]:
    """Fire the timers that are due and run on; returns the ids of the timers that fired
    (a timer cancelled because an interrupting one fired is not listed; a cycle timer that
    fired and re-armed is listed).

    SpiffWorkflow has no scheduler: nothing fires until someone calls this (3.2 deprecates
    `refresh_waiting_tasks()`; this uses `refresh_timers()`).
    """
    waiting = _timer_tasks(wf)
    cycles = {t.id: deepcopy(t._get_internal_data("event_value")) for t in waiting
              if isinstance(t.task_spec.event_definition, CycleTimerEventDefinition)}
    wf.refresh_timers()
    run_engine(wf)
    return sorted(str(t.id) for t in waiting
                  if t.state not in (TaskState.WAITING, TaskState.CANCELLED)
                  or (t.id in cycles and t.state == TaskState.WAITING
                      and t._get_internal_data("event_value") != cycles[t.id]))


__all__ = [
    "HumanTask", "Message", "WaitingTimer", "complete_task", "deliver_message", "deserialize",
    "is_completed", "new_workflow", "outgoing_messages", "ready_human_tasks", "refresh",
    "serialize", "set_timer_due", "waiting_messages", "waiting_timers",
]
