"""The two task spec classes cecp substitutes for SpiffWorkflow's own.

- `CecpServiceTask`: Spiff's ServiceTask stores the service's JSON answer under one result
  variable; cecp services return a dict that is *merged* into the task data, which is what a
  BPMN designer expects from "the service fills in fields".
- `MergingParallelGateway`: at a parallel join SpiffWorkflow (#440) keeps the data of the last
  branch; 3.2 deep-merges dicts but truncates lists to the last branch's length, so two
  reviewers each appending an attachment lose one. The join merges every branch explicitly.
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import ParallelGateway
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.util.task import TaskState

from .errors import ServiceError


class CecpServiceTask(ServiceTask):
    """Service task calling a registered Python service and merging its dict into task data.

    If the model names an explicit ``resultVariable`` (Spiff models only) the dict is stored
    under that name instead, as Spiff does.
    """

    external_topic: str | None = None  # set by the parser: wait for an external worker

    def _execute(self, task: Any) -> bool | None:
        if self.external_topic is not None and not _implemented(task, self.operation_name):
            return None  # STARTED until a worker completes it (engine.external)
        result = task.workflow.script_engine.call_service(
            task, operation_name=self.operation_name,
            operation_params=self.evaluate_params(task))
        payload = json.loads(result) if isinstance(result, (str, bytes)) else result
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise ServiceError(f"服务 {self.operation_name} 必须返回 dict，实际为 "
                               f"{type(payload).__name__}")
        if self.result_variable and not self.result_variable.startswith("spiff__"):
            task.data[self.result_variable] = payload
        else:
            task.data.update(payload)
        return True


def _implemented(task: Any, name: str) -> bool:
    """A Camunda external task whose topic the platform implements as a service runs here."""
    has = getattr(task.workflow.script_engine, "has_service", None)
    return bool(has and has(name))


def merge_branch_data(target: dict[str, Any], branch: dict[str, Any]) -> dict[str, Any]:
    """Merge one branch's data into `target`, in place.

    Dicts merge recursively, lists are unioned (target order first, then new items of the
    branch), any other value from the branch replaces the target's (so for a key changed in
    two branches the branch that finished last wins: give parallel tasks distinct keys).
    """
    for key, value in branch.items():
        old = target.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merge_branch_data(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            old.extend(deepcopy(item) for item in value if item not in old)
        else:
            target[key] = deepcopy(value)
    return target


class MergingParallelGateway(ParallelGateway):
    """Parallel gateway whose join merges the data of all incoming branches."""

    def _run_hook(self, my_task: Any) -> bool:
        others = [t for t in my_task.workflow.tasks.values()
                  if t.task_spec == self and t is not my_task
                  and t.has_state(TaskState.FINISHED_MASK) and not my_task.is_descendant_of(t)]
        merged: dict[str, Any] = {}
        for task in sorted(others, key=lambda t: t.last_state_change):
            merge_branch_data(merged, task.parent.data)
        merge_branch_data(merged, my_task.parent.data)
        result = super()._run_hook(my_task)
        if others:
            my_task.data = merged
        return result
