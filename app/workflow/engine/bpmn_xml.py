"""Safe XML parsing and the few BPMN extension elements cecp reads itself.

Why this module exists:
- Model files come from designers' uploads, so XML is parsed here once with entities, DTDs and
  the network disabled, and any document carrying a DOCTYPE is refused outright (XXE and
  "billion laughs"); SpiffWorkflow then receives the already parsed tree.
- Models come from two modelers: SpiffArena / bpmn-js-spiffworkflow (``spiffworkflow:``
  extensions) and Camunda Modeler (``camunda:`` attributes). Rather than two parsers and two
  serializer configurations, cecp reads both vocabularies here and builds the same Spiff task
  specs for both (see `parser.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .errors import ModelError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = frozenset({
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
})
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "spiffworkflow": SPIFF_NS}

_ISO_LITERAL = re.compile(
    r"^(R\d*/)?(P[0-9YMWDTHS.,]+|\d{4}-\d{2}-\d{2}(T[0-9:.+\-Z]*)?)(/P[0-9YMWDTHS.,]+)?$"
)
_WRAPPED = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)


def safe_parse(content: bytes | str, file: str = "") -> etree._Element:
    """Parse untrusted XML: no entity expansion, no DTD, no network; DOCTYPE is refused."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise ModelError(f"XML 无法解析: {exc}", file=file) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ModelError("XML 不得包含 DOCTYPE 或实体声明（XXE 防护）", file=file)
    return root


def file_kind(root: etree._Element) -> str:
    """'bpmn', 'dmn' or 'other', from the root element's namespace (not the file name)."""
    qname = etree.QName(root)
    if qname.localname == "definitions" and qname.namespace == BPMN_NS:
        return "bpmn"
    if qname.localname == "definitions" and qname.namespace in DMN_NAMESPACES:
        return "dmn"
    return "other"


def flavor(root: etree._Element) -> str:
    """'camunda', 'spiff' or 'bpmn' (plain), from the namespaces the document uses."""
    used = {etree.QName(el).namespace for el in root.iter(etree.Element)}
    used.update(etree.QName(a).namespace for el in root.iter(etree.Element) for a in el.attrib)
    if CAMUNDA_NS in used:
        return "camunda"
    if SPIFF_NS in used:
        return "spiff"
    return "bpmn"


def unwrap(expression: str | None) -> str | None:
    """``${expr}`` / ``#{expr}`` (Camunda JUEL wrapper) -> ``expr``; the inside must be Python."""
    if expression is None:
        return None
    match = _WRAPPED.match(expression)
    return match.group(1).strip() if match else expression.strip()


def normalize_expressions(root: etree._Element) -> None:
    """Make Camunda-style expressions evaluable by the Python script engine, in place.

    Spiff evaluates every timer and condition text as a Python expression, so a Camunda timer
    ``P3D`` would be a NameError: bare ISO 8601 literals are quoted, ``${...}`` is unwrapped.
    """
    for tag in ("timeDuration", "timeDate", "timeCycle", "conditionExpression", "condition"):
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            text = unwrap(el.text)
            if text and tag.startswith("time") and _ISO_LITERAL.match(text):
                text = repr(text)
            el.text = text


@dataclass(frozen=True)
class FormRef:
    """Where a user task's form comes from: a file in forms/, an inline Camunda form, or none."""

    kind: str  # "file" | "inline" | "form-js" | "generic"
    name: str | None = None
    inline: dict[str, Any] | None = field(default=None, compare=False)
    ui: str | None = None  # SpiffArena's formUiSchemaFilename
    key: str | None = None  # the reference as written (file name, formKey, form id)


def _spiff_properties(node: etree._Element) -> dict[str, str]:
    props = node.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
                       namespaces=NS)
    return {p.get("name"): p.get("value") for p in props}


def form_name_from_key(key: str) -> str:
    """``embedded:app:forms/submit_report.html`` or ``review-schema.json`` -> the form name."""
    name = key.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    for suffix in (".json", ".form", ".html"):
        name = name.removesuffix(suffix)
    return name.removesuffix("-schema")


def user_task_form_key(node: etree._Element) -> str | None:
    """The form name a user task refers to (spiff ``form``/``formJsonSchemaFilename`` property
    or ``camunda:formKey``), or None."""
    props = _spiff_properties(node)
    key = props.get("form") or props.get("formJsonSchemaFilename") or node.get(
        f"{{{CAMUNDA_NS}}}formKey")
    return form_name_from_key(key) if key else None


def has_inline_form(node: etree._Element) -> bool:
    return bool(node.xpath("./bpmn:extensionElements/camunda:formData/camunda:formField",
                           namespaces=NS))


def service_operation(node: etree._Element) -> tuple[str | None, dict[str, dict[str, str]]]:
    """(operation name, parameters) of a service task, from either vocabulary.

    Spiff: ``spiffworkflow:serviceTaskOperator id=...`` with ``spiffworkflow:parameter``s (the
    value is a Python expression). Camunda: ``camunda:topic`` (external task),
    ``camunda:expression``/``camunda:delegateExpression`` (``${report.publish}``; a trailing call
    ``(...)`` is dropped) or ``camunda:class``; ``camunda:inputParameter``s become parameters.
    """
    op = node.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS)
    if op:
        params = {}
        for p in op[0].xpath(".//spiffworkflow:parameter", namespaces=NS):
            if p.get("value") is not None:
                params[p.get("id")] = {"value": p.get("value"), "type": p.get("type", "any")}
        return op[0].get("id"), params
    name = None
    for attr in ("topic", "expression", "delegateExpression", "class"):
        value = node.get(f"{{{CAMUNDA_NS}}}{attr}")
        if value:
            name = re.sub(r"\(.*\)\s*$", "", unwrap(value) or "").strip() or None
            break
    params = {}
    for p in node.xpath("./bpmn:extensionElements/camunda:inputOutput/camunda:inputParameter",
                        namespaces=NS):
        text = p.text or ""
        expr = unwrap(text) if _WRAPPED.match(text) else repr(text)
        params[p.get("name")] = {"value": expr, "type": "any"}
    return name, params


def decision_ref(node: etree._Element) -> str | None:
    """The DMN decision id a business rule task calls (spiff ``calledDecisionId`` or
    ``camunda:decisionRef``)."""
    spiff = node.xpath("./bpmn:extensionElements/spiffworkflow:calledDecisionId", namespaces=NS)
    if spiff and spiff[0].text:
        return spiff[0].text.strip()
    return node.get(f"{{{CAMUNDA_NS}}}decisionRef")
