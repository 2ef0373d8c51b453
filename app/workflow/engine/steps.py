"""Running engine steps to a stable state (used by runtime and events)."""

from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .data_limit import check_workflow
from .errors import EngineError

MAX_ROUNDS = 100


def run_engine(wf: BpmnWorkflow) -> None:
    """`do_engine_steps` until only human tasks and waits remain.

    Spiff's `do_engine_steps` refreshes timers as its *last* step, so a timer that is already
    due becomes READY there and would otherwise sit un-run until the next call. Ends with
    the task data bound (`data_limit`).
    """
    for _ in range(MAX_ROUNDS):
        wf.do_engine_steps()
        if not any(not t.task_spec.manual for t in wf.get_tasks(state=TaskState.READY)):
            check_workflow(wf)
            return
    raise EngineError("引擎步骤未能停止（定时器循环？）")
