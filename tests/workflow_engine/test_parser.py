"""load_model: both modeler flavours, content hash, process choice, safe XML."""

from __future__ import annotations

import pytest

from app.workflow.engine import FormRef, ModelError, content_hash, load_model

from .conftest import bpmn, flow, read_process

SIMPLE = (
    '<bpmn:startEvent id="s"/><bpmn:userTask id="review" name="审核"/><bpmn:endEvent id="e"/>'
    + flow("f1", "s", "review") + flow("f2", "review", "e")
)


def test_plain_bpmn_user_task_without_form_or_lane():
    bundle = load_model({"a.bpmn": bpmn(SIMPLE)})
    assert bundle.process_id == "p"
    assert bundle.flavor == "bpmn"
    assert bundle.lanes == {"review": None}
    assert bundle.forms == {"review": None}
    assert bundle.user_tasks["review"].form == FormRef("generic")
    assert bundle.user_tasks["review"].label == "审核"
    assert bundle.form_for("review")["ui"]["order"] == ["decision", "comment"]


def test_content_hash_depends_only_on_names_and_content():
    a = load_model({"a.bpmn": bpmn(SIMPLE), "notes.txt": b"ignored"})
    b = load_model({"a.bpmn": bpmn(SIMPLE)})
    c = load_model({"b.bpmn": bpmn(SIMPLE)})
    d = load_model({"a.bpmn": bpmn(SIMPLE.replace("审核", "复核"))})
    assert a.content_hash == b.content_hash == content_hash({"a.bpmn": bpmn(SIMPLE)})
    assert len({a.content_hash, c.content_hash, d.content_hash}) == 3
    assert a.files == {"a.bpmn": bpmn(SIMPLE)}
    assert a.spec is not b.spec  # a new SpiffWorkflow parser per call


def test_spiff_flavoured_model():
    bundle = load_model(read_process("enterprise_report"))
    assert bundle.process_id == "enterprise_report"
    assert bundle.flavor == "spiff"
    assert bundle.lanes == {"submit_report": "enterprise", "initial_review": "reviewer",
                            "final_review": "approver", "admin_review": "admin"}
    assert bundle.forms == {"submit_report": "submit_report",
                            "initial_review": "initial_review_decision",
                            "final_review": "review_decision", "admin_review": "review_decision"}
    assert {k: v for k, v in bundle.services.items() if not v.startswith("verification.")} == {
        "self_check": "report.self_check", "remind_initial": "case.remind",
        "remind_final": "case.remind", "publish": "report.publish"}
    assert set(bundle.services.values()) >= {"verification.required", "verification.request"}


def test_camunda_flavoured_model():
    bundle = load_model(read_process("camunda_sample"))
    assert bundle.process_id == "camunda_sample"
    assert bundle.flavor == "camunda"
    assert bundle.services == {"archive": "sample.archive"}
    kinds = {n: t.form.kind for n, t in bundle.user_tasks.items()}
    assert kinds == {"fill_application": "inline", "technical_review": "inline",
                     "finance_review": "inline", "simple_review": "generic"}
    assert bundle.form_for("finance_review")["schema"]["required"] == ["finance_opinion"]


@pytest.mark.parametrize(("attrs", "expected"), [
    ('camunda:expression="${report.publish}"', "report.publish"),
    ('camunda:delegateExpression="${reportPublisher}"', "reportPublisher"),
    ('camunda:expression="${report.publish(execution)}"', "report.publish"),
    ('camunda:type="external" camunda:topic="report.publish"', "report.publish"),
    ('camunda:class="org.example.Publish"', "org.example.Publish"),
])
def test_camunda_service_task_names(attrs, expected):
    body = (f'<bpmn:startEvent id="s"/><bpmn:serviceTask id="svc" {attrs}/>'
            '<bpmn:endEvent id="e"/>' + flow("f1", "s", "svc") + flow("f2", "svc", "e"))
    assert load_model({"a.bpmn": bpmn(body)}).services == {"svc": expected}


def test_form_references():
    body = (
        '<bpmn:startEvent id="s"/>'
        '<bpmn:userTask id="a" camunda:formKey="embedded:app:forms/review_decision.html"/>'
        '<bpmn:userTask id="b"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="submit_report-schema.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
        '<bpmn:endEvent id="e"/>' + flow("f1", "s", "a") + flow("f2", "a", "b")
        + flow("f3", "b", "e"))
    bundle = load_model({"a.bpmn": bpmn(body)})
    assert bundle.forms == {"a": "review_decision", "b": "submit_report"}
    assert bundle.flavor == "camunda"  # one file using both vocabularies: camunda wins


def test_several_top_level_processes_need_a_choice():
    files = {"a.bpmn": bpmn(SIMPLE, "one"), "b.bpmn": bpmn(SIMPLE, "two")}
    with pytest.raises(ModelError, match="恰好一个顶层可执行流程"):
        load_model(files)
    assert load_model(files, process_id="two").process_id == "two"
    with pytest.raises(ModelError, match="流程不存在"):
        load_model(files, process_id="three")


def test_call_activity_subprocess_is_included():
    main = ('<bpmn:startEvent id="s"/><bpmn:callActivity id="call" calledElement="sub"/>'
            '<bpmn:endEvent id="e"/>' + flow("f1", "s", "call") + flow("f2", "call", "e"))
    bundle = load_model({"main.bpmn": bpmn(main, "main"), "sub.bpmn": bpmn(SIMPLE, "sub")})
    assert bundle.process_id == "main"
    assert set(bundle.subprocess_specs) == {"sub"}
    assert bundle.lanes == {"review": None}


@pytest.mark.parametrize(("files", "message"), [
    ({"a.bpmn": b"<not xml"}, "XML 无法解析"),
    ({"a.bpmn": b"<root/>"}, "既不是 BPMN 2.0 也不是 DMN 文件"),
    ({"a.txt": b"hello"}, "没有 BPMN 文件"),
    ({"a.bpmn": bpmn('<bpmn:userTask id="t"/>')}, "No start event found"),
    ({"a.bpmn": bpmn('<bpmn:startEvent id="s"/><bpmn:businessRuleTask id="rule" '
                     'camunda:decisionRef="nope"/>' + flow("f", "s", "rule"))},
     "No DMN Diagram available"),
    ({"a.bpmn": bpmn('<bpmn:startEvent id="s"/><bpmn:serviceTask id="svc"/>'
                     + flow("f", "s", "svc"))}, "服务任务未指定服务名称"),
])
def test_load_errors_are_model_errors(files, message):
    with pytest.raises(ModelError, match=message):
        load_model(files)


def test_model_error_carries_file_and_element():
    body = '<bpmn:startEvent id="s"/><bpmn:serviceTask id="svc"/>' + flow("f", "s", "svc")
    with pytest.raises(ModelError) as info:
        load_model({"a.bpmn": bpmn(body)})
    assert (info.value.file, info.value.element_id) == ("a.bpmn", "svc")


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<bpmn:process id="p"><bpmn:documentation>&xxe;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&b;
</bpmn:definitions>"""


@pytest.mark.parametrize("payload", [XXE, LAUGHS])
def test_doctype_and_entities_are_refused(payload):
    with pytest.raises(ModelError, match="DOCTYPE"):
        load_model({"a.bpmn": payload})


def test_manual_tasks_are_human_tasks_too():
    body = ('<bpmn:startEvent id="s"/><bpmn:manualTask id="sign" name="线下签字"/>'
            '<bpmn:endEvent id="e"/>' + flow("f1", "s", "sign") + flow("f2", "sign", "e"))
    bundle = load_model({"a.bpmn": bpmn(body, lanes={"approver": ["sign"]})})
    assert bundle.lanes == {"sign": "approver"} and bundle.forms == {"sign": None}
