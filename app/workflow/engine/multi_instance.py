"""Camunda multi-instance attributes in SpiffWorkflow's standard BPMN form.

Camunda Modeler writes ``<bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}"
camunda:elementVariable="item"/>``; SpiffWorkflow reads the standard ``loopDataInputRef`` +
``inputDataItem`` (what SpiffArena writes). The Camunda form is rewritten into the standard
one before parsing; ``${...}`` around ``loopCardinality`` and ``completionCondition`` is
removed like any other expression. A collection must name a variable (Camunda also accepts
an expression there; cecp refuses it with a clear message: compute the list in a script).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.util.task import TaskState

from .bpmn_xml import BPMN_NS, CAMUNDA_NS, unwrap
from .errors import ModelError

_NAME = re.compile(r"^[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*$")


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def normalize_multi_instance(root: etree._Element, file: str | None = None) -> None:
    """Rewrite Camunda multi-instance attributes in place (see the module docstring)."""
    for mi in root.iter(_q("multiInstanceLoopCharacteristics")):
        for tag in ("loopCardinality", "completionCondition"):
            el = mi.find(_q(tag))
            if el is not None and el.text:
                el.text = unwrap(el.text)
        collection = mi.attrib.pop(f"{{{CAMUNDA_NS}}}collection", None)
        element = mi.attrib.pop(f"{{{CAMUNDA_NS}}}elementVariable", None)
        if collection is None:
            continue
        name = (unwrap(collection) or "").strip()
        owner = mi.getparent()
        if not _NAME.match(name):
            raise ModelError(
                f"多实例的 camunda:collection 只支持变量名，实际为 {collection!r}"
                "（请先用脚本任务把集合算到一个变量里）",
                file=file,
                element_id=owner.get("id") if owner is not None else None,
            )
        if mi.find(_q("loopDataInputRef")) is None:
            ref = etree.SubElement(mi, _q("loopDataInputRef"))
            ref.text = name
            mi.insert(0, ref)
        if element and mi.find(_q("inputDataItem")) is None:
            item = etree.SubElement(mi, _q("inputDataItem"))
            item.set("id", element)
            item.set("name", element)
            mi.insert(1, item)


class _LocalItemMixin:
    """Camunda's element variable is local to each instance: without an output item,
    SpiffWorkflow merges a finished child's data (item included) into the parent, and the
    next sequential child then finds the item "already exists". Drop it after the merge."""

    def create_child(self, my_task: Any, item: Any, key_or_index: Any = None) -> Any:
        if self.output_item is None and self.input_item is not None:  # type: ignore[attr-defined]
            my_task.data.pop(self.input_item.bpmn_id, None)  # type: ignore[attr-defined]
        return super().create_child(my_task, item, key_or_index)  # type: ignore[misc]

    def merge_child(self, workflow: Any, child: Any) -> None:
        super().merge_child(workflow, child)  # type: ignore[misc]
        if self.output_item is None and self.input_item is not None:  # type: ignore[attr-defined]
            child.parent.data.pop(self.input_item.bpmn_id, None)  # type: ignore[attr-defined]


class _CamundaCountersMixin:
    """Camunda's completion condition reads ``nrOfInstances``, ``nrOfCompletedInstances``
    and ``nrOfActiveInstances``; SpiffWorkflow evaluates it on the last finished child's data
    only. The counters are passed as external context (read-only, not stored in the data)."""

    def check_completion_condition(self, my_task: Any) -> Any:
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:  # type: ignore[attr-defined]
            return None
        children = list(self._instances(my_task))  # type: ignore[attr-defined]
        last = [c for c in my_task.children if str(c.id) == merged[-1]][0]
        total = my_task.internal_data.get("cardinality")
        if total is None:
            total = len(children)
        active = sum(1 for c in children if not c.has_state(TaskState.FINISHED_MASK))
        counters = {
            "nrOfInstances": total,
            "nrOfCompletedInstances": len(merged),
            "nrOfActiveInstances": active,
        }
        return my_task.workflow.script_engine.evaluate(
            last,
            self.condition,
            external_context=counters,  # type: ignore[attr-defined]
        )


class CecpSequentialMultiInstanceTask(
    _CamundaCountersMixin, _LocalItemMixin, SequentialMultiInstanceTask
):
    pass


class CecpParallelMultiInstanceTask(
    _CamundaCountersMixin, _LocalItemMixin, ParallelMultiInstanceTask
):
    pass


def localize_items(specs: list[Any]) -> None:
    """Give every multi-instance spec the local-item behaviour (specs are not serialized:
    only their names are, so the class can change)."""
    swap = {
        SequentialMultiInstanceTask: CecpSequentialMultiInstanceTask,
        ParallelMultiInstanceTask: CecpParallelMultiInstanceTask,
    }
    for spec in specs:
        for ts in spec.task_specs.values():
            new = swap.get(type(ts))
            if new is not None:
                ts.__class__ = new
