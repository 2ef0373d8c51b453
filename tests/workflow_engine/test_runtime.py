"""Running instances in memory: tasks, serialization, services, joins, timers, messages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from app.workflow.engine import (
    EngineError,
    FormValidationError,
    Message,
    RestrictedScriptEngine,
    ServiceError,
    TaskNotReady,
    UnsafeExpressionError,
    complete_task,
    deliver_message,
    deserialize,
    generic_review_form,
    is_completed,
    load_model,
    new_workflow,
    outgoing_messages,
    ready_human_tasks,
    refresh,
    serialize,
    set_timer_due,
    waiting_messages,
    waiting_timers,
)

from .conftest import bpmn, flow

TWO_STEP = (
    '<bpmn:startEvent id="s"/><bpmn:userTask id="fill" name="填写"/>'
    '<bpmn:userTask id="check" name="审核"/><bpmn:endEvent id="e"/>'
    + flow("f1", "s", "fill") + flow("f2", "fill", "check") + flow("f3", "check", "e"))


def only_task(wf):
    tasks = ready_human_tasks(wf)
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_start_complete_and_finish():
    bundle = load_model({"a.bpmn": bpmn(TWO_STEP, lanes={"reviewer": ["check"]})})
    wf = new_workflow(bundle, {"enterprise_id": 7})
    task = only_task(wf)
    assert (task.name, task.label, task.lane, task.form_name, task.form_kind, task.process_id) \
        == ("fill", "填写", None, None, "generic", "p")
    complete_task(wf, task.task_id, {"amount": Decimal("1.5")})
    check = only_task(wf)
    assert (check.name, check.lane) == ("check", "reviewer")
    complete_task(wf, check.task_id, {"decision": "approve"}, form=generic_review_form())
    assert is_completed(wf) and ready_human_tasks(wf) == []
    assert wf.last_task.data == {"enterprise_id": 7, "amount": Decimal("1.5"),
                                 "decision": "approve"}


def test_complete_task_refuses_bad_calls():
    bundle = load_model({"a.bpmn": bpmn(TWO_STEP)})
    wf = new_workflow(bundle)
    task = only_task(wf)
    for bad_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(TaskNotReady):
            complete_task(wf, bad_id, {})
    with pytest.raises(FormValidationError) as info:
        complete_task(wf, task.task_id, {"__builtins__": {}, "_x": 1})
    assert set(info.value.errors) == {"__builtins__", "_x"}
    with pytest.raises(FormValidationError) as info:
        complete_task(wf, task.task_id, {"decision": "return"}, form=generic_review_form())
    assert info.value.errors == {"comment": "必填"}
    assert only_task(wf).task_id == task.task_id  # nothing happened
    complete_task(wf, task.task_id, {})
    with pytest.raises(TaskNotReady, match="不可办理"):
        complete_task(wf, task.task_id, {})


def test_serialize_roundtrip_without_specs_and_with_restricted_engine():
    bundle = load_model({"a.bpmn": bpmn(TWO_STEP)})
    wf = new_workflow(bundle, {"amount": Decimal("12.30"), "day": date(2024, 5, 1),
                               "at": datetime(2024, 5, 1, 8, 0, tzinfo=UTC)})
    blob = serialize(wf)
    dct = json.loads(blob)
    assert "spec" not in dct and "subprocess_specs" not in dct and dct["spec_name"] == "p"
    wf2 = deserialize(bundle, blob)
    assert isinstance(wf2.script_engine, RestrictedScriptEngine)
    with pytest.raises(UnsafeExpressionError):
        wf2.script_engine.validate("x.__class__")
    task = only_task(wf2)
    assert task == only_task(wf)
    complete_task(wf2, task.task_id, {})
    data = wf2.get_task_from_id(wf2.last_task.id).data
    assert data["amount"] == Decimal("12.30") and data["day"] == date(2024, 5, 1)
    assert data["at"] == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    wf3 = deserialize((bundle.spec, bundle.subprocess_specs), serialize(wf2))
    assert only_task(wf3).name == "check"


def test_deserialize_checks_spec_and_version():
    bundle = load_model({"a.bpmn": bpmn(TWO_STEP)})
    other = load_model({"b.bpmn": bpmn(TWO_STEP, process_id="other")})
    blob = serialize(new_workflow(bundle))
    with pytest.raises(EngineError, match="不属于流程 other"):
        deserialize(other, blob)
    dct = json.loads(blob)
    dct["serializer_version"] = "0.9"
    with pytest.raises(EngineError, match="需要迁移"):
        deserialize(bundle, json.dumps(dct))


def _service_model(op_xml: str) -> bytes:
    body = ('<bpmn:startEvent id="s"/>'
            f'<bpmn:serviceTask id="svc"><bpmn:extensionElements>{op_xml}'
            "</bpmn:extensionElements></bpmn:serviceTask>"
            '<bpmn:userTask id="next"/><bpmn:endEvent id="e"/>'
            + flow("f1", "s", "svc") + flow("f2", "svc", "next") + flow("f3", "next", "e"))
    return bpmn(body)


def test_service_task_merges_result_into_task_data():
    op = ('<spiffworkflow:serviceTaskOperator id="x.calc"><spiffworkflow:parameters>'
          '<spiffworkflow:parameter id="factor" type="int" value="base * 2"/>'
          "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>")
    engine = RestrictedScriptEngine(
        services={"x.calc": lambda data, factor: {"result": data["base"] * factor}})
    wf = new_workflow(load_model({"a.bpmn": _service_model(op)}), {"base": 3}, engine)
    task = wf.get_task_from_id(UUID(only_task(wf).task_id))
    assert task.data == {"base": 3, "result": 18}


def test_service_task_with_explicit_result_variable():
    op = ('<spiffworkflow:serviceTaskOperator id="x.calc" resultVariable="calc">'
          "<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator>")
    engine = RestrictedScriptEngine(services={"x.calc": lambda data: {"v": 1}})
    wf = new_workflow(load_model({"a.bpmn": _service_model(op)}), {}, engine)
    assert wf.get_tasks(spec_name="next")[0].data == {"calc": {"v": 1}}


def test_unknown_service_fails_the_step():
    op = ('<spiffworkflow:serviceTaskOperator id="x.missing">'
          "<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator>")
    with pytest.raises(ServiceError, match="未注册的服务: x.missing"):
        new_workflow(load_model({"a.bpmn": _service_model(op)}), {},
                     RestrictedScriptEngine(services={}))


@pytest.mark.parametrize("body", [
    '<bpmn:scriptTask id="sc"><bpmn:script>x = ().__class__</bpmn:script></bpmn:scriptTask>',
    '<bpmn:scriptTask id="sc"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>',
])
def test_unsafe_scripts_fail_at_run_time(body):
    model = bpmn('<bpmn:startEvent id="s"/>' + body + '<bpmn:endEvent id="e"/>'
                 + flow("f1", "s", "sc") + flow("f2", "sc", "e"))
    with pytest.raises(UnsafeExpressionError):
        new_workflow(load_model({"a.bpmn": model}))


def test_unsafe_condition_fails_at_run_time():
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="f3"/>'
            '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>' + flow("f1", "s", "gw")
            + flow("f2", "gw", "e1", "().__class__.__mro__") + flow("f3", "gw", "e2"))
    with pytest.raises(UnsafeExpressionError, match="__mro__"):
        new_workflow(load_model({"a.bpmn": bpmn(body)}))


PARALLEL = (
    '<bpmn:startEvent id="s"/><bpmn:parallelGateway id="split"/>'
    '<bpmn:userTask id="a"/><bpmn:userTask id="b"/><bpmn:parallelGateway id="join"/>'
    '<bpmn:userTask id="after"/><bpmn:endEvent id="e"/>'
    + flow("f1", "s", "split") + flow("f2", "split", "a") + flow("f3", "split", "b")
    + flow("f4", "a", "join") + flow("f5", "b", "join") + flow("f6", "join", "after")
    + flow("f7", "after", "e"))


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_parallel_join_merges_every_branch(order):
    wf = new_workflow(load_model({"a.bpmn": bpmn(PARALLEL)}),
                      {"files": ["base.pdf"], "opinions": {}})
    data = {"a": {"files": ["base.pdf", "a.pdf"], "opinions": {"a": "ok"}, "score_a": 1},
            "b": {"files": ["base.pdf", "b.pdf"], "opinions": {"b": "fine"}, "score_b": 2}}
    for name in order:
        task = next(t for t in ready_human_tasks(wf) if t.name == name)
        complete_task(wf, task.task_id, data[name])
    after = only_task(wf)
    merged = wf.get_task_from_id(UUID(after.task_id)).data
    first, second = order
    assert merged["files"] == ["base.pdf", f"{first}.pdf", f"{second}.pdf"]
    assert merged["opinions"] == {"a": "ok", "b": "fine"}
    assert (merged["score_a"], merged["score_b"]) == (1, 2)


TIMER = (
    '<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait">'
    "<bpmn:timerEventDefinition><bpmn:timeDuration>{expr}</bpmn:timeDuration>"
    "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    '<bpmn:userTask id="after"/><bpmn:endEvent id="e"/>'
    + flow("f1", "s", "wait") + flow("f2", "wait", "after") + flow("f3", "after", "e"))


def test_timers_are_listed_moved_and_fired():
    bundle = load_model({"a.bpmn": bpmn(TIMER.format(expr='get_value("delay", "PT1H")'))})
    wf = new_workflow(bundle, {"delay": "PT2H"})
    [(timer_id, fire_at)] = waiting_timers(wf)
    assert timedelta(hours=1, minutes=59) < fire_at - datetime.now(UTC) <= timedelta(hours=2)
    assert refresh(wf) == [] and ready_human_tasks(wf) == []
    set_timer_due(wf, timer_id, datetime.now(UTC) - timedelta(seconds=1))
    wf = deserialize(bundle, serialize(wf))  # the moved due time is persisted
    assert refresh(wf) == [timer_id]
    assert only_task(wf).name == "after" and waiting_timers(wf) == []
    with pytest.raises(TaskNotReady):
        set_timer_due(wf, timer_id, datetime.now(UTC))
    other = new_workflow(bundle)
    with pytest.raises(EngineError, match="时区"):
        set_timer_due(other, waiting_timers(other)[0].task_id, datetime.now())


def test_camunda_style_bare_durations():
    wf = new_workflow(load_model({"a.bpmn": bpmn(TIMER.format(expr="PT1H"))}))
    assert len(waiting_timers(wf)) == 1 and ready_human_tasks(wf) == []
    # A timer that is due at once fires within new_workflow (Spiff refreshes timers *after*
    # its engine steps; the runtime runs the steps again).
    wf = new_workflow(load_model({"a.bpmn": bpmn(TIMER.format(expr="${'PT0S'}"))}))
    assert waiting_timers(wf) == [] and only_task(wf).name == "after"


SENDER = (
    '<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="throw">'
    '<bpmn:messageEventDefinition id="m1" messageRef="msg"><bpmn:extensionElements>'
    '<spiffworkflow:messagePayload>{"report_id": report_id, "level": "A"}'
    "</spiffworkflow:messagePayload></bpmn:extensionElements></bpmn:messageEventDefinition>"
    '</bpmn:intermediateThrowEvent><bpmn:endEvent id="e"/>'
    + flow("f1", "s", "throw") + flow("f2", "throw", "e"))
RECEIVER = (
    '<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait">'
    '<bpmn:messageEventDefinition id="m2" messageRef="msg">{ext}</bpmn:messageEventDefinition>'
    '</bpmn:intermediateCatchEvent><bpmn:userTask id="after"/><bpmn:endEvent id="e"/>'
    + flow("f1", "s", "wait") + flow("f2", "wait", "after") + flow("f3", "after", "e"))
MESSAGE = '<bpmn:message id="msg" name="report_published"/>'


@pytest.mark.parametrize(("ext", "expected"), [
    ("<bpmn:extensionElements><spiffworkflow:messageVariable>published"
     "</spiffworkflow:messageVariable></bpmn:extensionElements>",
     {"published": {"report_id": 42, "level": "A"}}),
    ("", {"report_id": 42, "level": "A"}),  # plain BPMN catch: payload merged into data
])
def test_messages_between_instances(ext, expected):
    sender = load_model({"s.bpmn": bpmn(SENDER, "sender", extra=MESSAGE)})
    receiver = load_model({"r.bpmn": bpmn(RECEIVER.format(ext=ext), "receiver", extra=MESSAGE)})
    rwf = new_workflow(receiver, {"mine": 1})
    assert waiting_messages(rwf) == ["report_published"]
    swf = new_workflow(sender, {"report_id": 42})
    assert is_completed(swf)
    [msg] = outgoing_messages(swf)
    assert outgoing_messages(swf) == []  # taken once
    assert msg.name == "report_published" and msg.payload == {"report_id": 42, "level": "A"}
    wire = json.dumps(msg.to_dict())  # e.g. through the outbox
    rwf = deserialize(receiver, serialize(rwf))
    assert deliver_message(rwf, Message("other_message", {})) == 0
    assert deliver_message(rwf, Message.from_dict(json.loads(wire))) == 1
    after = only_task(rwf)
    assert after.name == "after" and waiting_messages(rwf) == []
    data = rwf.get_task_from_id(UUID(after.task_id)).data
    assert data == {"mine": 1, **expected}
    assert deliver_message(rwf, msg) == 0  # nothing waits any more


def test_call_activity_tasks_and_roundtrip():
    main = ('<bpmn:startEvent id="s"/><bpmn:callActivity id="call" calledElement="sub"/>'
            '<bpmn:userTask id="last"/><bpmn:endEvent id="e"/>' + flow("f1", "s", "call")
            + flow("f2", "call", "last") + flow("f3", "last", "e"))
    bundle = load_model({"main.bpmn": bpmn(main, "main"),
                         "sub.bpmn": bpmn(TWO_STEP, "sub", lanes={"reviewer": ["check"]})})
    wf = deserialize(bundle, serialize(new_workflow(bundle, {"x": 1})))
    task = only_task(wf)
    assert (task.name, task.process_id) == ("fill", "sub")
    complete_task(wf, task.task_id, {"y": 2})
    wf = deserialize(bundle, serialize(wf))
    task = only_task(wf)
    assert (task.name, task.lane, task.process_id) == ("check", "reviewer", "sub")
    complete_task(wf, task.task_id, {})
    task = only_task(wf)
    assert (task.name, task.process_id) == ("last", "main")
    assert wf.get_task_from_id(UUID(task.task_id)).data == {"x": 1, "y": 2}


def test_pending_outgoing_messages_survive_serialization():
    sender = load_model({"s.bpmn": bpmn(SENDER, "sender", extra=MESSAGE)})
    wf = deserialize(sender, serialize(new_workflow(sender, {"report_id": 1})))
    assert [m.payload for m in outgoing_messages(wf)] == [{"report_id": 1, "level": "A"}]
