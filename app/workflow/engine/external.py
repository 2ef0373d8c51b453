"""External service tasks: a service task the platform does not implement waits (STARTED)
for a worker that uses the external-task REST API (`app.workflow.external`).

A service task is external when its XML says ``camunda:type="external"`` (Camunda Modeler's
"External" implementation; the deploy option ``external`` writes that attribute for Spiff
connector operators and Java delegates, see `declare_external`). Its topic is
``camunda:topic``, else the operator/delegate name, else the element id. A topic that names
a service registered on the platform (`register_service`) runs in-process instead.

Completing one sets the worker's variables and runs on; a BPMN error is thrown to the
error boundary events attached to the task (matched by error code, or catch-all).
"""

from __future__ import annotations

from copy import copy, deepcopy
from typing import Any, NamedTuple
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from . import bpmn_xml
from .bpmn_xml import BPMN_NS, CAMUNDA_NS
from .errors import TaskNotReady
from .steps import run_engine

EXTERNAL_HINT = (
    "可在部署时将其声明为外部任务（部署参数 external=<元素 id 或服务名>），"
    "由外部工作者通过外部任务接口完成"
)
_TYPE = f"{{{CAMUNDA_NS}}}type"
_TOPIC = f"{{{CAMUNDA_NS}}}topic"


class ExternalTask(NamedTuple):
    """A service task waiting for a worker."""

    task_id: str
    activity_id: str  # BPMN id
    activity_name: str
    topic: str
    data: dict[str, Any]


def external_topic(node: etree._Element) -> str | None:
    """The topic of an external service task node (None: not declared external)."""
    if node.get(_TYPE) != "external":
        return None
    name, _ = bpmn_xml.service_operation(node)
    return node.get(_TOPIC) or name or node.get("id")


def declare_external(content: bytes, names: set[str]) -> tuple[bytes, list[str]]:
    """Mark the service tasks whose id, operator/delegate name or topic is in `names` as
    external (Camunda attributes); returns the new XML and the ids it changed."""
    root = bpmn_xml.safe_parse(content, "model.bpmn")
    changed = []
    for node in root.iter(f"{{{BPMN_NS}}}serviceTask", f"{{{BPMN_NS}}}sendTask"):
        name, _ = bpmn_xml.service_operation(node)
        keys = {node.get("id"), name, node.get(_TOPIC)} - {None}
        if keys & names and node.get(_TYPE) != "external":
            node.set(_TYPE, "external")
            node.set(_TOPIC, node.get(_TOPIC) or name or node.get("id"))
            changed.append(node.get("id"))
    if not changed:
        return content, []
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), changed


def _is_external(task: Any) -> bool:
    return (
        getattr(task.task_spec, "external_topic", None) is not None
        and task.state == TaskState.STARTED
    )


def waiting_external(wf: BpmnWorkflow) -> list[ExternalTask]:
    """Every external service task waiting for a worker (STARTED)."""
    return [
        ExternalTask(
            str(t.id),
            t.task_spec.name,
            t.task_spec.bpmn_name or t.task_spec.name,
            t.task_spec.external_topic,
            t.data,
        )
        for t in wf.get_tasks(state=TaskState.STARTED)
        if _is_external(t)
    ]


def _find(wf: BpmnWorkflow, task_id: str) -> Any:
    try:
        task = wf.get_task_from_id(UUID(str(task_id)))
    except (ValueError, TypeError, TaskNotFoundException) as exc:
        raise TaskNotReady(f"外部任务不存在: {task_id}") from exc
    if task is None or not _is_external(task) or task.state != TaskState.STARTED:
        raise TaskNotReady(f"外部任务不在等待中: {task_id}")
    return task


def complete_external(wf: BpmnWorkflow, task_id: str, variables: dict[str, Any]) -> None:
    """The worker finished: merge its variables and run to the next wait state."""
    task = _find(wf, task_id)
    task.set_data(**deepcopy(variables))
    task.complete()
    run_engine(wf)


def throw_bpmn_error(
    wf: BpmnWorkflow, task_id: str, code: str, message: str | None, variables: dict[str, Any]
) -> int:
    """The worker reported a business error: the task's error boundary events that catch
    `code` take over (returns how many caught it; 0: nothing catches it)."""
    task = _find(wf, task_id)
    siblings = task.parent.children if task.parent is not None else []
    catchers = [
        t
        for t in siblings
        if t is not task
        and t.state == TaskState.WAITING
        and isinstance(getattr(t.task_spec, "event_definition", None), ErrorEventDefinition)
        and t.task_spec.event_definition.code in (None, "", code)
    ]
    if not catchers:
        return 0
    task.set_data(**deepcopy(variables))
    catcher = sorted(catchers, key=lambda t: t.task_spec.event_definition.code != code)[0]
    definition = copy(catcher.task_spec.event_definition)
    definition.code = code
    event = BpmnEvent(
        definition,
        payload={**deepcopy(variables), "errorCode": code, "errorMessage": message},
        target=task.workflow,
    )
    catcher.task_spec.catch(catcher, event)
    catcher.task_spec._update(catcher)
    run_engine(wf)
    return 1
