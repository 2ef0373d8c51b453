"""Form files, meta-schema checks, Chinese field messages, Camunda inline form conversion."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from app.workflow.engine import (
    FormNotFound,
    camunda_form_to_schema,
    form_exists,
    generic_review_form,
    load_form,
    validate_data,
    validate_form_schema,
)

from .conftest import ROOT, bpmn


def test_shipped_forms_are_valid():
    names = sorted(p.stem for p in (ROOT / "forms").glob("*.json"))
    assert {"submit_report", "review_decision"} <= set(names)
    for name in names:
        assert validate_form_schema(load_form(name)) == [], name
    assert validate_form_schema(generic_review_form()) == []


def test_form_names_cannot_leave_the_forms_directory(tmp_path):
    (tmp_path / "ok.json").write_text(json.dumps(generic_review_form()), encoding="utf-8")
    assert load_form("ok", tmp_path)["ui"]["order"] == ["decision", "comment"]
    assert form_exists("ok", tmp_path) and not form_exists("missing", tmp_path)
    for bad in ("../secrets", "/etc/passwd", "a/b", "", "UPPER"):
        assert not form_exists(bad, tmp_path)
        with pytest.raises(FormNotFound):
            load_form(bad, tmp_path)


def test_validate_form_schema_reports_problems():
    assert validate_form_schema([]) == ["表单必须是包含 schema 对象的 JSON 对象"]
    bad_meta = {"schema": {"type": "object", "properties": {"a": {"type": "nope"}}}}
    problems = validate_form_schema(bad_meta)
    assert len(problems) == 1 and problems[0].startswith(
        "schema 不符合 JSON Schema 2020-12（properties/a/type）")
    assert validate_form_schema({"schema": {"type": "string"}}) == [
        "schema 的 type 必须是 object 且包含 properties"]
    form = {"schema": {"type": "object", "properties": {"a": {"type": "string"},
                                                        "b": {"type": "string"}}},
            "ui": {"order": ["a", "zz"], "fields": {"a": {"label": "甲", "widget": "slider"},
                                                    "yy": {"label": "乙"}}}}
    assert validate_form_schema(form) == [
        "ui.order 中的字段 'zz' 不在 schema.properties 中",
        "ui.fields 中的字段 'yy' 不在 schema.properties 中",
        "字段 'a' 的控件 'slider' 不受支持",
        "字段 'b' 缺少中文标签（ui.fields.b.label）",
    ]


NUMBERS = {"schema": {"type": "object", "properties": {
    "amount": {"type": "number", "minimum": 0, "maximum": 100},
    "count": {"type": "integer", "exclusiveMinimum": 0},
    "name": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[a-z]+$"},
    "kind": {"type": "string", "enum": ["coal", "gas"]},
    "day": {"type": "string", "format": "date"},
    "tags": {"type": "array", "minItems": 1, "uniqueItems": True},
    "nested": {"type": "object", "properties": {"v": {"type": "number"}}, "required": ["v"]},
}, "required": ["amount", "kind"]}}


@pytest.mark.parametrize(("data", "expected"), [
    ({}, {"amount": "必填", "kind": "必填"}),
    ({"amount": "12", "kind": "coal"}, {"amount": "必须是数字"}),
    ({"amount": -1, "kind": "coal"}, {"amount": "不得小于 0"}),
    ({"amount": 101, "kind": "coal"}, {"amount": "不得大于 100"}),
    ({"amount": 1, "kind": "oil"}, {"kind": "取值必须是以下之一: coal, gas"}),
    ({"amount": 1, "kind": "gas", "count": 0}, {"count": "必须大于 0"}),
    ({"amount": 1, "kind": "gas", "count": 1.5}, {"count": "必须是整数"}),
    ({"amount": 1, "kind": "gas", "name": "a"}, {"name": "长度不得少于 2 个字符"}),
    ({"amount": 1, "kind": "gas", "name": "abcde"}, {"name": "长度不得超过 4 个字符"}),
    ({"amount": 1, "kind": "gas", "name": "AB"}, {"name": "格式不正确"}),
    ({"amount": 1, "kind": "gas", "day": "2024-13-01"},
     {"day": "日期格式不正确（应为 YYYY-MM-DD）"}),
    ({"amount": 1, "kind": "gas", "tags": []}, {"tags": "至少需要 1 项"}),
    ({"amount": 1, "kind": "gas", "tags": [1, 1]}, {"tags": "不得包含重复项"}),
    ({"amount": 1, "kind": "gas", "nested": {}}, {"nested.v": "必填"}),
    ({"amount": 1, "kind": "gas", "nested": {"v": "x"}}, {"nested.v": "必须是数字"}),
    ({"amount": 1, "kind": "gas", "day": "2024-02-29"}, {}),
])
def test_validate_data_gives_chinese_field_messages(data, expected):
    assert validate_data(NUMBERS, data) == expected


def test_validate_data_whole_form_problem():
    assert validate_data(NUMBERS, []) == {"_form": "必须是对象"}


def test_review_decision_requires_comment_only_when_returning():
    form = load_form("review_decision")
    assert validate_data(form, {"decision": "approve"}) == {}
    assert validate_data(form, {"decision": "return"}) == {"comment": "必填"}
    assert validate_data(form, {"decision": "return", "comment": ""}) == {"comment": "不能为空"}
    assert validate_data(form, {"decision": "return", "comment": "请补充电力数据"}) == {}
    assert validate_data(form, {"decision": "ok", "extra": 1}) == {
        "decision": "取值必须是以下之一: approve, return", "extra": "不允许的字段"}
    generic = generic_review_form()
    assert validate_data(generic, {"decision": "return"}) == {"comment": "必填"}
    assert validate_data(generic, {}) == {"decision": "必填"}


def test_submit_report_requires_confirmation():
    form = load_form("submit_report")
    assert validate_data(form, {}) == {"confirm": "必填"}
    assert validate_data(form, {"confirm": False}) == {"confirm": "必须勾选确认"}
    assert validate_data(form, {"confirm": True, "explanation": "x" * 2001}) == {
        "explanation": "长度不得超过 2000 个字符"}
    assert validate_data(form, {"confirm": True, "explanation": "季节性停产"}) == {}


CAMUNDA_TASK = (
    '<bpmn:userTask id="t" name="填报">'
    "<bpmn:extensionElements><camunda:formData>"
    '<camunda:formField id="name" label="名称" type="string">'
    '<camunda:validation><camunda:constraint name="required"/>'
    '<camunda:constraint name="maxlength" config="10"/></camunda:validation></camunda:formField>'
    '<camunda:formField id="qty" label="数量" type="long" defaultValue="5">'
    '<camunda:validation><camunda:constraint name="min" config="0"/>'
    '<camunda:constraint name="max" config="99"/></camunda:validation></camunda:formField>'
    '<camunda:formField id="ok" label="同意" type="boolean" defaultValue="true"/>'
    '<camunda:formField id="day" label="日期" type="date"/>'
    '<camunda:formField id="kind" label="类别" type="enum" defaultValue="a">'
    '<camunda:value id="a" name="甲"/><camunda:value id="b" name="乙"/></camunda:formField>'
    '<camunda:formField id="code" label="编号" type="string" defaultValue="X1">'
    '<camunda:validation><camunda:constraint name="readonly"/>'
    '<camunda:constraint name="minlength" config="2"/></camunda:validation></camunda:formField>'
    "</camunda:formData></bpmn:extensionElements></bpmn:userTask>"
)
EXPECTED_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 10},
        "qty": {"type": "integer", "default": 5, "minimum": 0, "maximum": 99},
        "ok": {"type": "boolean", "default": True},
        "day": {"type": "string", "format": "date"},
        "kind": {"type": "string", "enum": ["a", "b"], "default": "a"},
        "code": {"type": "string", "default": "X1", "readOnly": True, "minLength": 2},
    },
    "required": ["name"],
}


def _camunda_doc() -> bytes:
    return bpmn('<bpmn:startEvent id="s"/>' + CAMUNDA_TASK
                + '<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
                '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>')


def test_camunda_form_from_xml_element():
    root = etree.fromstring(_camunda_doc())
    node = root.find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask")
    form = camunda_form_to_schema(node)
    assert form["schema"] == EXPECTED_SCHEMA
    assert form["ui"]["order"] == ["name", "qty", "ok", "day", "kind", "code"]
    assert form["ui"]["fields"]["kind"] == {"label": "类别", "widget": "select", "options": [
        {"value": "a", "label": "甲"}, {"value": "b", "label": "乙"}]}
    assert form["ui"]["fields"]["code"] == {"label": "编号", "widget": "text", "readonly": True}
    assert form["ui"]["fields"]["day"]["widget"] == "date"
    assert validate_form_schema(form) == []
    assert validate_data(form, {"qty": 100, "kind": "c", "day": "31/12/2024"}) == {
        "name": "必填", "qty": "不得大于 99", "kind": "取值必须是以下之一: a, b",
        "day": "日期格式不正确（应为 YYYY-MM-DD）"}


def test_camunda_form_from_spiff_camunda_task_spec():
    parser = CamundaParser()
    parser.add_bpmn_str(_camunda_doc())
    spec = parser.get_spec("p").task_specs["t"]
    assert camunda_form_to_schema(spec)["schema"] == EXPECTED_SCHEMA
    assert camunda_form_to_schema(spec.form)["schema"] == EXPECTED_SCHEMA
