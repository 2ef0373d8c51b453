"""Models and forms as SpiffArena and Camunda Modeler write them: forms read, lanes mapped,
collaborations picked, every error listed apart from warnings (no database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.workflow.engine import (
    complete_task,
    form_exists,
    load_form,
    load_model,
    new_workflow,
    ready_human_tasks,
    registered_services,
    validate_data,
    validate_form_schema,
)
from app.workflow.engine.form_formats import FormLibrary, from_form_js, from_json_schema
from app.workflow.engine.parser import apply_lane_roles, message_flows, top_processes
from app.workflow.engine.validation import check_model
from app.workflow.engine.variables import read_names
from app.workflow.forms_html import coerce, fields

from .conftest import ROLES, bpmn, flow

MODELS = Path(__file__).parent / "models"


def files_of(name: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (MODELS / name).iterdir() if p.is_file()}


def library(files: dict[str, bytes]) -> FormLibrary:
    docs = {n: json.loads(c) for n, c in files.items() if n.endswith((".json", ".form"))}
    return FormLibrary(docs, exists=form_exists, loader=load_form)


def report(files, **kw):
    return check_model(files, known_roles=ROLES, known_services=registered_services(),
                       forms=library(files), **kw)


# ---- SpiffArena ------------------------------------------------------------------------

def test_spiff_schema_and_uischema_in_any_case_become_one_form():
    files = files_of("spiff_expense")
    bundle = load_model(files)
    ref = bundle.user_tasks["Activity_enter_expenses"].form
    form = library(files).resolve(ref).form  # the task says expense-schema.json
    assert validate_form_schema(form) == []
    schema, ui = form["schema"], form["ui"]
    assert schema["type"] == "object"              # the file's top level has no type
    assert ui["order"] == ["purpose", "category", "lines", "notes"]
    assert ui["fields"]["notes"] == {"label": "Notes", "widget": "textarea",
                                     "help": "Anything finance should know"}
    assert ui["fields"]["category"]["options"] == [{"value": "travel", "label": "Travel"},
                                                   {"value": "meals", "label": "Meals"}]
    assert schema["properties"]["category"]["enum"] == ["travel", "meals"]
    assert ui["fields"]["lines"]["widget"] == "rows"
    assert set(ui["fields"]["lines"]["columns"]) == {"description", "amount"}


def test_spiff_repeating_rows_validate_render_and_coerce():
    files = files_of("spiff_expense")
    form = library(files).resolve(load_model(files).user_tasks[
        "Activity_enter_expenses"].form).form
    assert validate_data(form, {"purpose": "trip", "lines": []}) == {"lines": "至少需要 1 项"}
    assert validate_data(form, {"purpose": "trip", "lines": [{"description": "taxi",
                                                              "amount": -3}]}) == {
        "lines.0.amount": "不得小于 0"}
    assert validate_data(form, {"purpose": "trip", "lines": [{"amount": 3}]}) == {
        "lines.0.description": "必填"}
    posted = {"purpose": "trip", "lines.0.description": "taxi", "lines.0.amount": "12.5",
              "lines.1.description": "hotel", "lines.1.amount": "300",
              "lines.2.description": "", "lines.2.amount": ""}
    data = coerce(form, posted)
    assert data["lines"] == [{"description": "taxi", "amount": 12.5},
                             {"description": "hotel", "amount": 300}]
    assert validate_data(form, data) == {}
    rendered = {f["name"]: f for f in fields(form, data, {"lines.1.amount": "不得小于 0"})}
    assert rendered["lines"]["widget"] == "rows"
    assert [c["name"] for c in rendered["lines"]["columns"]] == ["description", "amount"]
    assert rendered["lines"]["rows"] == data["lines"]
    assert rendered["lines"]["row_errors"] == {"lines.1.amount": "不得小于 0"}


def test_spiff_model_runs_with_mapped_lanes():
    files = files_of("spiff_expense")
    lanes = {"Requester": "enterprise", "Finance Team": "approver"}
    assert report(files).unmapped_lanes == ["Requester", "Finance Team"]
    checked = report(files, lane_roles=lanes)
    assert checked.errors == [] and checked.warnings == []
    bundle = apply_lane_roles(load_model(files), lanes)
    form = library(files).resolve(bundle.user_tasks["Activity_enter_expenses"].form).form
    wf = new_workflow(bundle, {})
    [task] = ready_human_tasks(wf)
    assert task.lane == "enterprise"
    complete_task(wf, task.task_id, {"purpose": "trip", "lines": [
        {"description": "hotel", "amount": 900}, {"description": "taxi", "amount": 200}]},
        form=form)
    [approval] = ready_human_tasks(wf)  # 1100 > 1000: finance approves
    assert (approval.name, approval.lane) == ("Activity_finance_approval", "approver")


# ---- Camunda Modeler ---------------------------------------------------------------------

def test_camunda_form_js_with_dynamic_list_is_converted():
    form = from_form_js(json.loads(files_of("camunda_leave")["handover.form"]))
    assert validate_form_schema(form) == []
    props = form["schema"]["properties"]
    assert list(props) == ["substitute", "reachable", "urgency", "open_items"]  # no text/button
    assert form["schema"]["required"] == ["substitute", "urgency"]
    assert props["substitute"] == {"type": "string", "maxLength": 50, "minLength": 1}
    assert props["urgency"]["enum"] == ["low", "high"]
    assert props["open_items"]["items"]["required"] == ["item"]
    assert form["ui"]["fields"]["open_items"]["widget"] == "rows"
    assert validate_data(form, {"substitute": "Li", "urgency": "low",
                                "open_items": [{"hours": 2}]}) == {
        "open_items.0.item": "必填"}


def test_camunda_model_start_form_form_ref_and_html_form_key():
    files = files_of("camunda_leave")
    bundle = load_model(files)
    lib = library(files)
    start = lib.resolve(bundle.start_form).form
    assert start["schema"]["required"] == ["employee", "days"]
    assert validate_data(start, {"employee": "Wang", "days": 0}) == {"days": "不得小于 1"}
    plan = lib.resolve(bundle.user_tasks["Task_plan"].form)  # camunda:formRef="Form_handover"
    assert "open_items" in plan.form["schema"]["properties"]
    approve = lib.resolve(bundle.user_tasks["Task_approve"].form, "用户任务「Approve leave」")
    assert approve.form is None and approve.errors == []
    assert "嵌入式 HTML" in approve.warnings[0]


def test_refusal_lists_every_reason_and_warnings_apart():
    files = files_of("camunda_leave")
    files["leave_request.bpmn"] = files["leave_request.bpmn"].replace(
        b'camunda:formRef="Form_handover"', b'camunda:formRef="Form_missing"')
    files["extra.bpmn"] = b"<not xml"
    checked = report(files)
    messages = [p.message for p in checked.errors]
    assert any("extra.bpmn" == p.file for p in checked.errors)            # unparsable file
    assert any("Form_missing" in m for m in messages)                    # missing form
    assert any("Manager" in m for m in messages)                         # unmapped lanes
    assert any("Employee" in m for m in messages)
    assert checked.unmapped_lanes == ["Employee", "Manager"]
    assert [p.element_id for p in checked.warnings] == ["Task_approve"]  # not an error


def test_collaboration_asks_for_the_pool_and_keeps_message_flows():
    files = files_of("collaboration")
    checked = report(files)
    assert checked.processes == [("order_customer", "下单"), ("order_fulfilment", "发货")]
    assert "process_id" in checked.errors[0].message
    picked = report(files, process_id="order_fulfilment")
    assert picked.errors == []
    assert load_model(files, process_id="order_fulfilment").process_id == "order_fulfilment"
    from app.workflow.engine.bpmn_xml import safe_parse

    root = safe_parse(files["order_fulfilment.bpmn"])
    assert [p for p, _ in top_processes(root)] == ["order_customer", "order_fulfilment"]
    assert message_flows(root) == [{"id": "MessageFlow_order", "name": "订单",
                                    "source": "Event_send_order",
                                    "target": "StartEvent_fulfil"}]


def test_every_pool_is_parsed_and_partners_found():
    """A parse error in the pool that was not chosen is listed too (its partner is deployed
    with the chosen one), with or without process_id; the partner is the pool the message
    flows join."""
    from app.workflow.engine.bpmn_xml import safe_parse
    from app.workflow.engine.collaboration import flow_targets, partner_processes

    files = files_of("collaboration")
    broken = files["order_fulfilment.bpmn"].replace(
        b'<bpmn:outgoing>Flow_f2</bpmn:outgoing></bpmn:userTask>',
        b'<bpmn:outgoing>Flow_f2</bpmn:outgoing>'
        b'<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality>'
        b'<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>'
        b'</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>')
    assert broken != files["order_fulfilment.bpmn"]
    for kw in ({}, {"process_id": "order_customer"}):
        checked = report({**files, "order_fulfilment.bpmn": broken}, **kw)
        assert any(p.element_id == "Task_ship" for p in checked.errors), checked.errors
    root = safe_parse(files["order_fulfilment.bpmn"])
    assert partner_processes([root], "order_customer", {"order_customer", "order_fulfilment"}
                             ) == ["order_fulfilment"]
    assert flow_targets([root]) == {"order_placed": {"order_fulfilment"}}


# ---- warnings ------------------------------------------------------------------------------

def test_condition_reading_a_variable_nothing_sets_is_a_warning():
    body = ('<bpmn:startEvent id="s"/><bpmn:scriptTask id="calc"><bpmn:script>score = 3'
            '</bpmn:script></bpmn:scriptTask><bpmn:exclusiveGateway id="gw" default="f4"/>'
            '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
            + flow("f1", "s", "calc") + flow("f2", "calc", "gw")
            + flow("f3", "gw", "e1", "score &gt; 2 and aproved and len([x for x in []]) == 0")
            + flow("f4", "gw", "e2"))
    checked = report({"a.bpmn": bpmn(body)})
    assert checked.errors == []
    assert [(p.element_id, p.message) for p in checked.warnings] == [
        ("f3", "条件「f3」读取的变量 aproved 没有任何表单字段、脚本或发起数据设置")]
    assert read_names("year > 2020 and all(v for v in values)") == {"year", "values"}


@pytest.mark.parametrize("key", ["embedded:app:forms/x.html", "app:forms/review.jsf",
                                 "https://intranet.example/forms/7"])
def test_unrenderable_form_keys_warn(key):
    body = (f'<bpmn:startEvent id="s"/><bpmn:userTask id="t" camunda:formKey="{key}"/>'
            '<bpmn:endEvent id="e"/>' + flow("f1", "s", "t") + flow("f2", "t", "e"))
    checked = report({"a.bpmn": bpmn(body)})
    assert checked.errors == [] and len(checked.warnings) == 1


def test_rjsf_schema_helpers():
    form = from_json_schema({"properties": {"tags": {"type": "array", "items": {
        "type": "string", "enum": ["a", "b"]}}, "ok": {"type": "boolean"}}},
        {"ok": {"ui:title": "确认"}})
    assert form["ui"]["fields"]["tags"]["widget"] == "checklist"
    assert form["ui"]["fields"]["ok"]["label"] == "确认"
    assert validate_form_schema(form) == []


def test_camunda_input_parameters_become_the_message_payload_and_are_checked():
    """Camunda Modeler's "Inputs" on a message end event are its payload (rewritten into
    SpiffArena's messagePayload before parsing); an unsafe one is refused at deploy naming
    the event."""
    from app.workflow.engine import new_workflow, outgoing_messages

    files = files_of("collaboration_camunda")
    bundle = load_model(files, process_id="permit_handle")
    wf = new_workflow(bundle, {})
    assert [m.name for m in outgoing_messages(wf)] == []
    end = bundle.spec.task_specs["EndEvent_reply"].event_definition
    assert end.expression == ("{'result': (decision), 'opinion': (comment), "
                              "'handled_by': ('主管部门')}")
    bad = files["permit.bpmn"].replace(b"${comment}", b"${().__class__}")
    checked = report({"permit.bpmn": bad}, process_id="permit_apply")
    assert any(p.element_id == "EndEvent_reply" and "opinion" in p.message and "不安全" in
               p.message for p in checked.errors), checked.errors
