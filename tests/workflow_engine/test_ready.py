"""The flat READY lookup gives SpiffWorkflow's answer, in its order (the oracle fixture in
tests/conftest.py checks every lookup of every workflow test; here: several READY tasks
under a parallel gateway, and the fallback with a subprocess)."""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from app.workflow import engine
from app.workflow.engine.ready import ready_tasks

from .conftest import bpmn, flow


def _parallel() -> dict[str, bytes]:
    body = ('<bpmn:startEvent id="s"/>'
            '<bpmn:parallelGateway id="fork"/>'
            + "".join(f'<bpmn:userTask id="u{i}" name="任务{i}"/>' for i in range(3))
            + '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="e"/>'
            + flow("f0", "s", "fork")
            + "".join(flow(f"a{i}", "fork", f"u{i}") + flow(f"b{i}", f"u{i}", "join")
                      for i in range(3))
            + flow("f9", "join", "e"))
    return {"p.bpmn": bpmn(body)}


def test_several_ready_tasks_in_tree_order():
    wf = engine.new_workflow(engine.load_model(_parallel()), {})
    ready = ready_tasks(wf, manual=True)
    assert [t.task_spec.name for t in ready] == ["u0", "u1", "u2"]
    assert [t.id for t in wf.get_tasks(state=TaskState.READY, manual=True)] == \
        [t.id for t in ready]
    engine.complete_task(wf, str(ready[1].id), {})
    assert [t.task_spec.name for t in wf.get_tasks(state=TaskState.READY)] == ["u0", "u2"]
    for task in list(wf.get_tasks(state=TaskState.READY)):
        engine.complete_task(wf, str(task.id), {})
    assert wf.is_completed()


def test_other_queries_go_to_spiffworkflow():
    wf = engine.new_workflow(engine.load_model(_parallel()), {})
    completed = wf.get_tasks(state=TaskState.COMPLETED)
    assert completed and all(t.state == TaskState.COMPLETED for t in completed)
