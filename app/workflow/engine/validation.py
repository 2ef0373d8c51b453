"""Designer-side validation of a model before deployment, with Chinese messages.

Why separate from `load_model`: loading stops at the first error and speaks SpiffWorkflow's
English; a designer wants every problem at once, tied to the element to click on in bpmn-js,
and checks SpiffWorkflow does not make (roles, registered services, form files, unsafe
expressions). The XML is read with the same XXE-safe parser as `load_model`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from lxml import etree

from . import bpmn_xml
from .bpmn_xml import BPMN_NS
from .cron import Cron, CronError, looks_like_cron
from .errors import ModelError, UnsafeExpressionError
from .external import EXTERNAL_HINT, external_topic
from .forms import camunda_form_to_schema, load_form, validate_form_schema
from .parser import MODEL_SUFFIXES, load_model
from .script_engine import check_source


class Problem(NamedTuple):
    file: str
    element_id: str | None
    message: str


def _label(node: etree._Element) -> str:
    return node.get("name") or node.get("id") or ""


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


class _Checker:
    def __init__(self, file: str, known_roles: set[str], known_services: set[str],
                 form_exists: Callable[[str], bool], form_loader: Callable[[str], Any],
                 decisions: set[str]):
        self.file, self.roles, self.services = file, known_roles, known_services
        self.form_exists, self.form_loader, self.decisions = form_exists, form_loader, decisions
        self.problems: list[Problem] = []
        self.covered: set[str] = set()

    def add(self, node: etree._Element, message: str, *related: str) -> None:
        self.problems.append(Problem(self.file, node.get("id"), message))
        self.covered.update((node.get("id") or "", *related))

    def run(self, root: etree._Element) -> None:
        bpmn_xml.normalize_expressions(root)
        for node in root.iter(_q("userTask")):
            self.user_task(node)
        for node in root.iter(_q("lane")):
            name = node.get("name")
            if not name:
                self.add(node, "泳道缺少名称（泳道名称应为角色名）")
            elif name not in self.roles:
                self.add(node, f"泳道「{name}」不是已知角色")
        for node in root.iter(_q("serviceTask")):
            name, _ = bpmn_xml.service_operation(node)
            if external_topic(node) is not None:
                continue  # waits for a worker (external-task API)
            if not name:
                self.add(node, f"服务任务「{_label(node)}」未指定服务名称；" + EXTERNAL_HINT)
            elif name not in self.services:
                self.add(node, f"服务任务「{_label(node)}」调用的服务 {name} 未在平台实现；"
                               + EXTERNAL_HINT)
        for node in root.iter(_q("businessRuleTask")):
            ref = bpmn_xml.decision_ref(node)
            if not ref:
                self.add(node, f"业务规则任务「{_label(node)}」未指定 DMN 决策")
            elif ref not in self.decisions:
                self.add(node, f"业务规则任务「{_label(node)}」引用的 DMN 决策 {ref} 不存在")
        flows: dict[str, list[etree._Element]] = {}
        for flow in root.iter(_q("sequenceFlow")):
            flows.setdefault(flow.get("sourceRef"), []).append(flow)
        for node in root.iter(_q("exclusiveGateway")):
            self.gateway(node, flows.get(node.get("id"), []))
        self.expressions(root)

    def user_task(self, node: etree._Element) -> None:
        label = _label(node)
        if bpmn_xml.has_inline_form(node):
            for p in validate_form_schema(camunda_form_to_schema(node)):
                self.add(node, f"用户任务「{label}」的内联表单无效: {p}")
            return
        key = bpmn_xml.user_task_form_key(node)
        if key is None:
            return  # no form: the generic review form is used
        if not self.form_exists(key):
            self.add(node, f"用户任务「{label}」引用的表单 {key} 不存在")
            return
        try:
            form = self.form_loader(key)
        except (OSError, ValueError, LookupError) as exc:
            self.add(node, f"用户任务「{label}」的表单 {key} 无法读取: {exc}")
            return
        for p in validate_form_schema(form):
            self.add(node, f"用户任务「{label}」的表单 {key} 无效: {p}")

    def gateway(self, node: etree._Element, outgoing: list[etree._Element]) -> None:
        if len(outgoing) <= 1:
            return
        ids = [f.get("id") for f in outgoing]
        default = node.get("default")
        if default:
            if default not in ids:
                self.add(node, f"排他网关「{_label(node)}」的默认流 {default} 不是它的出口",
                         *ids)
            return
        missing = [f.get("id") for f in outgoing if not (bpmn_xml.unwrap(
            f.findtext(_q("conditionExpression")) or "") or "")]
        if missing:
            self.add(node, f"排他网关「{_label(node)}」没有默认流，且出口 {', '.join(missing)} "
                           "没有条件", *ids)

    def expressions(self, root: etree._Element) -> None:
        checks = [("conditionExpression", "eval", "条件表达式"), ("script", "exec", "脚本"),
                  ("timeDuration", "eval", "定时器表达式"), ("timeDate", "eval", "定时器表达式"),
                  ("timeCycle", "eval", "定时器表达式")]
        for tag, mode, what in checks:
            for el in root.iter(_q(tag)):
                if not (el.text or "").strip():
                    continue
                owner = el.getparent()
                if tag.startswith("time"):
                    owner = owner.getparent()  # timerEventDefinition -> event
                if tag == "timeCycle" and looks_like_cron(el.text):
                    try:
                        Cron(el.text)
                    except CronError as exc:
                        self.add(owner, f"定时器 cron 表达式无效: {exc}")
                    continue
                try:
                    check_source(el.text.strip(), mode)
                except SyntaxError as exc:
                    self.add(owner, f"{what}语法错误: {el.text.strip()!r} ({exc.msg})")
                except UnsafeExpressionError as exc:
                    self.add(owner, f"{what}不安全: {exc}")


def validate_model(files: dict[str, bytes | str], *, known_roles: set[str],
                   known_services: set[str], form_exists: Callable[[str], bool],
                   form_loader: Callable[[str], Any] | None = None) -> list[Problem]:
    """All problems of a model (empty list = deployable).

    Checks: XML is safe and parses; BPMN parses in SpiffWorkflow; each user task's form exists
    and is a valid form (no form = the generic review form, inline Camunda forms are
    converted); every lane names a known role (no lane = the initiator); every service task
    names a registered service; business rule tasks name a DMN decision in the files; every
    exclusive gateway has a default flow or conditions on all outgoing flows; conditions,
    scripts and timer expressions pass the restricted engine's checks. `form_loader` reads a
    form by name (default: ``forms/<name>.json``).
    """
    loader = form_loader or load_form
    problems: list[Problem] = []
    roots: dict[str, tuple[str, etree._Element]] = {}
    for name, content in files.items():
        if not name.lower().endswith(MODEL_SUFFIXES):
            continue
        try:
            root = bpmn_xml.safe_parse(content, name)
        except ModelError as exc:
            problems.append(Problem(name, None, str(exc)))
            continue
        kind = bpmn_xml.file_kind(root)
        if kind == "other" and not name.lower().endswith(".xml"):
            problems.append(Problem(name, None, "既不是 BPMN 2.0 也不是 DMN 文件"))
        elif kind != "other":
            roots[name] = (kind, root)
    if problems:
        return problems
    if not any(kind == "bpmn" for kind, _ in roots.values()):
        return [Problem("", None, "没有 BPMN 文件")]
    decisions = {d.get("id") for kind, root in roots.values() if kind == "dmn"
                 for d in root.iter(f"{{{etree.QName(root).namespace}}}decision")}
    covered: set[str] = set()
    for name, (kind, root) in roots.items():
        if kind == "bpmn":
            checker = _Checker(name, set(known_roles), set(known_services), form_exists,
                               loader, decisions)
            checker.run(root)
            problems += checker.problems
            covered |= checker.covered
    try:
        load_model(files)
    except ModelError as exc:
        if exc.element_id is None or exc.element_id not in covered:
            problems.append(Problem(exc.file or "", exc.element_id, str(exc)))
    return problems
