"""READY tasks without walking the whole task tree.

SpiffWorkflow answers ``get_tasks(state=READY)`` by iterating the tree from its root, which
an action does several times (every round of ``do_engine_steps``, our inbox derivation);
most of a tree is finished work. Without subprocesses, the READY tasks are exactly those
of ``workflow.tasks`` in that state (a READY task has no predicted ancestor), so they are
found by one flat scan and put in the iterator's order, depth-first pre-order (by their
path of child positions from the root). `accelerate` installs this on one workflow object;
every other query goes to SpiffWorkflow unchanged.
"""

from __future__ import annotations

from types import MethodType
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

_FAST_KEYS = frozenset({"state", "manual"})


def _position(task: Any) -> list[int]:
    path = []
    while (parent := task.parent) is not None:
        path.append(parent._children.index(task.id))
        task = parent
    path.reverse()
    return path


def ready_tasks(workflow: BpmnWorkflow, manual: bool | None = None) -> list[Any]:
    """The READY tasks of a workflow without subprocesses, in SpiffWorkflow's order."""
    found = [t for t in workflow.tasks.values() if t._state == TaskState.READY
             and (manual is None or t.task_spec.manual == manual)]
    if len(found) > 1:
        found.sort(key=_position)
    return found


def _get_tasks(self: BpmnWorkflow, first_task: Any = None, **kwargs: Any) -> list[Any]:
    if (first_task is None and kwargs.get("state") == TaskState.READY
            and _FAST_KEYS.issuperset(kwargs) and not self.subprocesses):
        return ready_tasks(self, kwargs.get("manual"))
    return BpmnWorkflow.get_tasks(self, first_task, **kwargs)


def accelerate(workflow: BpmnWorkflow) -> BpmnWorkflow:
    workflow.get_tasks = MethodType(_get_tasks, workflow)
    return workflow
