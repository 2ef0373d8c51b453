"""Designer-side validation of a model before deployment, with Chinese messages: errors
(the model is refused, every one of them listed) apart from warnings (it deploys).

Why separate from `load_model`: loading stops at the first error and speaks SpiffWorkflow's
English; a designer wants every problem at once, tied to the element to click on in bpmn-js,
and checks SpiffWorkflow does not make (roles, registered services, form files, unsafe
expressions). The XML is read with the same XXE-safe parser as `load_model`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lxml import etree

from . import bpmn_xml
from .bpmn_xml import BPMN_NS
from .cron import Cron, CronError, looks_like_cron
from .errors import FormNotFound, ModelError, UnsafeExpressionError
from .external import EXTERNAL_HINT, external_topic
from .form_formats import FormLibrary, form_ref
from .forms import generic_review_form, load_form, validate_form_schema
from .parser import MODEL_SUFFIXES, load_model, top_processes
from .script_engine import check_source
from .variables import VariableCheck


class Problem(NamedTuple):
    file: str
    element_id: str | None
    message: str


def _label(node: etree._Element) -> str:
    return node.get("name") or node.get("id") or ""


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


@dataclass
class Report:
    """What a deploy is told: `errors` refuse the model (all of them), `warnings` do not;
    `unmapped_lanes` are lane names that are no role and have no mapping; `processes` are
    the top-level executable processes (id, name) when the caller must pick one."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    unmapped_lanes: list[str] = field(default_factory=list)
    processes: list[tuple[str, str]] = field(default_factory=list)


class _Checker:
    def __init__(self, file: str, known_roles: set[str], known_services: set[str],
                 library: FormLibrary, decisions: set[str], lane_roles: dict[str, str]):
        self.file, self.roles, self.services = file, known_roles, known_services
        self.library, self.decisions, self.lane_roles = library, decisions, lane_roles
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.unmapped: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self.covered: set[str] = set()

    def add(self, node: etree._Element, message: str, *related: str) -> None:
        self.problems.append(Problem(self.file, node.get("id"), message))
        self.covered.update((node.get("id") or "", *related))

    def warn(self, node: etree._Element | None, message: str) -> None:
        self.warnings.append(Problem(self.file, node.get("id") if node is not None else None,
                                     message))

    def run(self, root: etree._Element) -> None:
        bpmn_xml.normalize_expressions(root)
        for node in root.iter(_q("userTask")):
            self.user_task(node)
        for node in root.iter(_q("startEvent")):
            if node.getparent().tag == _q("process"):
                self.form_of(node, f"开始事件「{_label(node)}」")
        for node in root.iter(_q("lane")):
            self.lane(node)
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
        for node in root.iter(_q("multiInstanceLoopCharacteristics")):
            self.collection(node)
        self.expressions(root)
        self.input_parameters(root)

    def input_parameters(self, root: etree._Element) -> None:
        """Camunda ``${...}`` input parameters (service task parameters, message payloads)
        pass the restricted engine's checks."""
        for p in root.iter(f"{{{bpmn_xml.CAMUNDA_NS}}}inputParameter"):
            text = p.text or ""
            if len(p) or not bpmn_xml._WRAPPED.match(text):
                continue
            owner = p.getparent().getparent().getparent()  # inputOutput, extensionElements
            try:
                check_source((bpmn_xml.unwrap(text) or "").strip(), "eval")
            except SyntaxError as exc:
                self.add(owner, f"「{_label(owner)}」的输入参数 {p.get('name')} 语法错误: "
                                f"{text.strip()!r} ({exc.msg})")
            except UnsafeExpressionError as exc:
                self.add(owner, f"「{_label(owner)}」的输入参数 {p.get('name')} 不安全: {exc}")

    def collection(self, node: etree._Element) -> None:
        """A Camunda collection: a variable name or an expression the engine accepts."""
        raw = node.get(f"{{{bpmn_xml.CAMUNDA_NS}}}collection")
        owner = node.getparent()
        if raw is None or owner is None:
            return
        text = (bpmn_xml.unwrap(raw) or "").strip()
        if not text:
            self.add(owner, f"多实例任务「{_label(owner)}」的 camunda:collection 为空")
            return
        try:
            check_source(text, "eval")
        except SyntaxError as exc:
            self.add(owner, f"多实例任务「{_label(owner)}」的 camunda:collection 表达式语法错误:"
                            f" {text!r}（{exc.msg}）")
        except UnsafeExpressionError as exc:
            self.add(owner, f"多实例任务「{_label(owner)}」的 camunda:collection 表达式不安全:"
                            f" {exc}")

    def lane(self, node: etree._Element) -> None:
        name = node.get("name")
        if not name:
            self.add(node, "泳道缺少名称（泳道名称应为角色名，或在部署时映射到角色）")
        elif name in self.lane_roles:
            role = self.lane_roles[name]
            if role not in self.roles:
                self.add(node, f"泳道「{name}」映射到的角色 {role} 不存在")
        elif name not in self.roles:
            self.unmapped.append(name)
            self.add(node, f"泳道「{name}」不是已知角色，且未映射到角色")

    def user_task(self, node: etree._Element) -> None:
        before = len(self.forms)
        self.form_of(node, f"用户任务「{_label(node)}」")
        if len(self.forms) == before:  # the generic review form: decision and comment
            self.forms.append(generic_review_form())

    def form_of(self, node: etree._Element, what: str) -> None:
        """Resolve and check the form of a user task or start event (no form: the generic
        review form for a task, nothing at start)."""
        ref = form_ref(node)
        try:
            resolved = self.library.resolve(ref, what)
        except (OSError, ValueError, LookupError, FormNotFound) as exc:
            self.add(node, f"{what}的表单 {ref.name} 无法读取: {exc}")
            return
        for message in resolved.errors:
            self.add(node, message)
        for message in resolved.warnings:
            self.warn(node, message)
        if resolved.form is None:
            return
        self.forms.append(resolved.form)
        kind = "内联表单" if ref.kind == "inline" else f"表单 {ref.key or ref.name} "
        for p in validate_form_schema(resolved.form):
            self.add(node, f"{what}的{kind}无效: {p}")

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
                  ("timeCycle", "eval", "定时器表达式"),
                  ("loopCardinality", "eval", "多实例数量表达式"),
                  ("completionCondition", "eval", "多实例完成条件")]
        for tag, mode, what in checks:
            for el in root.iter(_q(tag)):
                if not (el.text or "").strip():
                    continue
                owner = el.getparent()
                if tag.startswith("time") or tag in ("loopCardinality", "completionCondition"):
                    owner = owner.getparent()  # timerEventDefinition -> event, loop -> task
                if tag == "timeCycle" and looks_like_cron(el.text):
                    try:
                        Cron(el.text)
                    except CronError as exc:
                        label = owner.get("name") or owner.get("id")
                        self.add(owner, f"定时器「{label}」的 cron 表达式无效: {exc}")
                    continue
                text = bpmn_xml.unwrap(el.text) or ""
                try:
                    check_source(text.strip(), mode)
                except SyntaxError as exc:
                    self.add(owner, f"{what}语法错误: {el.text.strip()!r} ({exc.msg})")
                except UnsafeExpressionError as exc:
                    self.add(owner, f"{what}不安全: {exc}")


def validate_model(files: dict[str, bytes | str], *, known_roles: set[str],
                   known_services: set[str], form_exists: Callable[[str], bool],
                   form_loader: Callable[[str], Any] | None = None,
                   lane_roles: dict[str, str] | None = None,
                   process_id: str | None = None) -> list[Problem]:
    """All errors of a model (empty list = deployable); see `check_model`."""
    return check_model(files, known_roles=known_roles, known_services=known_services,
                       forms=FormLibrary({}, exists=form_exists,
                                         loader=form_loader or load_form),
                       lane_roles=lane_roles, process_id=process_id).errors


def check_model(files: dict[str, bytes | str], *, known_roles: set[str],
                known_services: set[str], forms: FormLibrary,
                lane_roles: dict[str, str] | None = None, process_id: str | None = None,
                start_data: set[str] | frozenset[str] = frozenset()) -> Report:
    """Every error and warning of a model.

    Errors: XML is safe and parses (each file; the others are still checked); BPMN parses in
    SpiffWorkflow; each user task's and start event's form resolves (`FormLibrary`) and is
    a valid form; every lane names a known role or is mapped to one (`lane_roles`); every
    service task names a registered service; business rule tasks name a DMN decision in
    the files; every exclusive gateway has a default flow or conditions on all outgoing
    flows; conditions, scripts and timer expressions pass the restricted engine's checks;
    exactly one top-level executable process unless `process_id` picks one.
    Warnings: forms the platform cannot render (generic form used instead); conditions
    reading a variable nothing sets (`variables.VariableCheck`).
    """
    report = Report()
    lane_roles = dict(lane_roles or {})
    roots: dict[str, tuple[str, etree._Element]] = {}
    broken = False
    for name, content in files.items():
        if not name.lower().endswith(MODEL_SUFFIXES):
            continue
        try:
            root = bpmn_xml.safe_parse(content, name)
        except ModelError as exc:
            report.errors.append(Problem(name, None, str(exc)))
            broken = True
            continue
        kind = bpmn_xml.file_kind(root)
        if kind == "other" and not name.lower().endswith(".xml"):
            report.errors.append(Problem(name, None, "既不是 BPMN 2.0 也不是 DMN 文件"))
            broken = True
        elif kind != "other":
            roots[name] = (kind, root)
    if not any(kind == "bpmn" for kind, _ in roots.values()):
        if not broken:
            report.errors.append(Problem("", None, "没有 BPMN 文件"))
        return report
    decisions = {d.get("id") for kind, root in roots.values() if kind == "dmn"
                 for d in root.iter(f"{{{etree.QName(root).namespace}}}decision")}
    covered: set[str] = set()
    variables = VariableCheck(start_data)
    for kind, root in roots.values():
        if kind == "dmn":
            variables.dmn(root)
    checkers = []
    for name, (kind, root) in roots.items():
        if kind == "bpmn":
            checker = _Checker(name, set(known_roles), set(known_services), forms,
                               decisions, lane_roles)
            checker.run(root)
            checkers.append((checker, root))
            report.errors += checker.problems
            report.warnings += checker.warnings
            report.unmapped_lanes += [n for n in checker.unmapped
                                      if n not in report.unmapped_lanes]
            covered |= checker.covered
            variables.model(root, checker.forms)
    for checker, root in checkers:
        report.warnings += [Problem(checker.file, eid, msg)
                            for eid, msg in variables.unset_reads(root)]
    tops = [p for kind, root in roots.values() if kind == "bpmn" for p in top_processes(root)]
    if process_id is None and len(tops) > 1:
        report.processes = tops
        report.errors.append(Problem("", None, "模型包含多个可执行流程（泳池），请指定由哪个流程"
                                     "发起（process_id）: " + "、".join(
                                         f"{pid}（{label}）" for pid, label in tops)))
    if broken:
        return report
    # parse every executable pool (partners deploy with the chosen one; a refusal lists the
    # parse errors of all of them)
    pools = [p for p, _ in tops] if len(tops) > 1 else [process_id]
    if process_id is not None and process_id not in pools:
        pools.append(process_id)
    for pid in pools:
        try:
            load_model(files, process_id=pid)
        except ModelError as exc:
            problem = Problem(exc.file or "", exc.element_id, str(exc))
            if (exc.element_id is None or exc.element_id not in covered) \
                    and problem not in report.errors:
                report.errors.append(problem)
    return report
