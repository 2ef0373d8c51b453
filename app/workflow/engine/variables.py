"""Which variables a model sets and which its conditions read, for a deploy warning.

Why: a gateway condition reading a variable that nothing sets fails only when an instance
reaches it (a NameError puts the case into its error state), usually because a form field
was renamed or mistyped. The check is static and conservative: a variable counts as set
when any form field (task or start form), script assignment, DMN output, output parameter,
result or multi-instance variable, message variable or the platform's start data names it.
Service tasks return data the model does not declare, so the warning says so when the
model has any.
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from lxml import etree

from .bpmn_xml import BPMN_NS, CAMUNDA_NS, NS, SPIFF_NS, unwrap

#: What every instance starts with (`app.workflow.service.start`).
PLATFORM_START_DATA = frozenset({"enterprise_uscc", "region_code", "year", "month",
                                 "review_deadline", "review_deadline_reminder"})
_ALWAYS = frozenset({"get_value", "task", "self", "datetime", "timedelta", "date"}
                    | set(dir(builtins)))


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def assigned_names(source: str) -> set[str]:
    """Names a script assigns at its top level (assignments, for/with/except targets,
    imports are refused anyway); empty when it does not parse."""
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError:
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and isinstance(node.ctx, ast.Store):
            out.add(node.value.id)
    return out


def read_names(expression: str) -> set[str]:
    """Free names an expression reads (comprehension variables and builtins excluded)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return set()
    bound = {t.id for node in ast.walk(tree) if isinstance(node, ast.comprehension)
             for t in ast.walk(node.target) if isinstance(t, ast.Name)}
    bound |= {a.arg for node in ast.walk(tree) if isinstance(node, ast.Lambda)
              for a in node.args.args}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)}
    return names - bound - _ALWAYS


class VariableCheck:
    """Collects what a set of files sets; then lists conditions reading anything else."""

    def __init__(self, start_data: set[str] | frozenset[str] = frozenset()):
        self.set: set[str] = set(PLATFORM_START_DATA) | set(start_data)
        self.has_services = False

    def dmn(self, root: etree._Element) -> None:
        ns = etree.QName(root).namespace
        self.set.update(o.get("name") for o in root.iter(f"{{{ns}}}output") if o.get("name"))

    def model(self, root: etree._Element, forms: list[dict[str, Any]]) -> None:
        for form in forms:
            self.set.update((form.get("schema") or {}).get("properties", {}))
        scripts = [el.text for el in root.iter(_q("script"), f"{{{CAMUNDA_NS}}}script",
                                               f"{{{SPIFF_NS}}}preScript",
                                               f"{{{SPIFF_NS}}}postScript") if el.text]
        for source in scripts:
            self.set |= assigned_names(source)
        for el in root.iter(etree.Element):
            for attr in (f"{{{CAMUNDA_NS}}}resultVariable", f"{{{CAMUNDA_NS}}}elementVariable",
                         "resultVariable", "messageVariable",
                         f"{{{SPIFF_NS}}}messageVariable"):
                if el.get(attr):
                    self.set.add(el.get(attr))
        self.set.update(p.get("name") for p in root.xpath(
            ".//camunda:outputParameter", namespaces=NS) if p.get("name"))
        self.set.update(p.get("name") or p.get("id") for p in root.iter(
            _q("inputDataItem"), _q("outputDataItem"), _q("dataObject"),
            _q("dataObjectReference"), _q("dataOutput")) if p.get("name") or p.get("id"))
        self.set.update(el.text.strip() for el in root.iter(_q("loopDataOutputRef"))
                        if el.text)
        self.set.update(f.get("id") for f in root.xpath(".//camunda:formField",
                                                        namespaces=NS) if f.get("id"))
        if next(root.iter(_q("serviceTask"), _q("sendTask")), None) is not None:
            self.has_services = True

    def unset_reads(self, root: etree._Element) -> list[tuple[str | None, str]]:
        """(element id, message) for each condition reading a variable nothing sets."""
        out = []
        for flow in root.iter(_q("sequenceFlow")):
            cond = flow.find(_q("conditionExpression"))
            text = unwrap(cond.text) if cond is not None and cond.text else None
            if not text:
                continue
            missing = sorted(read_names(text) - self.set)
            if missing:
                hint = "（若由服务任务返回，可忽略）" if self.has_services else ""
                label = flow.get("name") or flow.get("id")
                out.append((flow.get("id"), f"条件「{label}」读取的变量 {', '.join(missing)} "
                            f"没有任何表单字段、脚本或发起数据设置{hint}"))
        return out
