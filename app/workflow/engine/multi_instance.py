"""Camunda multi-instance attributes in SpiffWorkflow's standard BPMN form.

Camunda Modeler writes ``<bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}"
camunda:elementVariable="item"/>``; SpiffWorkflow reads the standard ``loopDataInputRef`` +
``inputDataItem`` (what SpiffArena writes). The Camunda form is rewritten into the standard
one before parsing; ``${...}`` around ``loopCardinality`` and ``completionCondition`` is
removed like any other expression.

A collection that is not a variable name (``camunda:collection="${[l for l in lines if
l['amount'] > 0]}"``, ``${list(range(3))}``, ``${order['lines']}``; Camunda accepts any expression
there) is evaluated once when the activity starts, like Camunda, and its value (a list; a
tuple or set becomes one) is kept in a reserved task-data variable
``_mi_<element id>`` that SpiffWorkflow iterates, removed again when the activity ends.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.spiff.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.util.task import TaskState

from .bpmn_xml import BPMN_NS, CAMUNDA_NS, unwrap
from .errors import ModelError, UnsafeExpressionError
from .script_engine import check_source

_NAME = re.compile(r"^[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*$")
HIDDEN_PREFIX = "_mi_"


def hidden_collection(element_id: str) -> str:
    """The reserved variable holding an expression collection's value."""
    return HIDDEN_PREFIX + re.sub(r"\W", "_", element_id)


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


_ORDER = ["loopCardinality", "loopDataInputRef", "loopDataOutputRef", "inputDataItem",
          "outputDataItem", "complexBehaviorDefinition", "completionCondition"]


def _insert_in_order(mi: etree._Element, new: etree._Element) -> None:
    """Insert where the BPMN schema's sequence wants it (SpiffWorkflow validates it)."""
    rank = _ORDER.index(etree.QName(new).localname)
    for i, child in enumerate(mi):
        name = etree.QName(child).localname if isinstance(child.tag, str) else ""
        if name in _ORDER and _ORDER.index(name) > rank:
            mi.insert(i, new)
            return
    mi.append(new)


def normalize_multi_instance(root: etree._Element, file: str | None = None) -> dict[str, str]:
    """Rewrite Camunda multi-instance attributes in place (see the module docstring); returns
    {element id: collection expression} for collections given as an expression."""
    expressions: dict[str, str] = {}
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
        owner_id = owner.get("id") if owner is not None else None
        if not name:
            raise ModelError("多实例的 camunda:collection 为空", file=file, element_id=owner_id)
        if not _NAME.match(name):
            if not owner_id:
                raise ModelError("多实例任务缺少 id", file=file)
            try:
                check_source(name, "eval")
            except SyntaxError as exc:
                raise ModelError(f"多实例的 camunda:collection 表达式语法错误: {name!r}"
                                 f"（{exc.msg}）", file=file, element_id=owner_id) from exc
            except UnsafeExpressionError as exc:
                raise ModelError(f"多实例的 camunda:collection 表达式不安全: {exc}",
                                 file=file, element_id=owner_id) from exc
            expressions[owner_id] = name
            name = hidden_collection(owner_id)
        if mi.find(_q("loopDataInputRef")) is None:
            ref = etree.Element(_q("loopDataInputRef"))
            ref.text = name
            _insert_in_order(mi, ref)
        if element and mi.find(_q("inputDataItem")) is None:
            item = etree.Element(_q("inputDataItem"))
            item.set("id", element)
            item.set("name", element)
            _insert_in_order(mi, item)
    return expressions


class _CollectionExpressionMixin:
    """Evaluate an expression collection when the activity starts (module docstring)."""

    collection_expression: str | None = None

    def _update_hook(self, my_task: Any) -> Any:
        if self.collection_expression:
            my_task._inherit_data()  # what the base hook does first; merging again is a no-op
            value = my_task.workflow.script_engine.evaluate(my_task, self.collection_expression)
            if isinstance(value, (range, tuple, set, frozenset)):
                value = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
            if not isinstance(value, (list, dict)):
                raise WorkflowDataException(
                    f"多实例集合表达式 {self.collection_expression!r} 的结果必须是列表，"
                    f"实际为 {type(value).__name__}", my_task)
            my_task.data[self.data_input.bpmn_id] = value  # type: ignore[attr-defined]
        return super()._update_hook(my_task)  # type: ignore[misc]

    def _on_complete_hook(self, my_task: Any) -> None:
        super()._on_complete_hook(my_task)  # type: ignore[misc]
        if self.collection_expression:
            my_task.data.pop(self.data_input.bpmn_id, None)  # type: ignore[attr-defined]


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
    _CollectionExpressionMixin, _CamundaCountersMixin, _LocalItemMixin,
    SequentialMultiInstanceTask
):
    pass


class CecpParallelMultiInstanceTask(
    _CollectionExpressionMixin, _CamundaCountersMixin, _LocalItemMixin,
    ParallelMultiInstanceTask
):
    pass


def localize_items(specs: list[Any], expressions: dict[str, str] | None = None) -> None:
    """Give every multi-instance spec the local-item behaviour and its collection
    expression, if any (specs are not serialized: only their names are, so the class can
    change)."""
    swap = {
        SequentialMultiInstanceTask: CecpSequentialMultiInstanceTask,
        ParallelMultiInstanceTask: CecpParallelMultiInstanceTask,
    }
    for spec in specs:
        for ts in spec.task_specs.values():
            new = swap.get(type(ts))
            if new is not None:
                ts.__class__ = new
                ts.collection_expression = (expressions or {}).get(ts.bpmn_id)
