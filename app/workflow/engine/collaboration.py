"""What a collaboration's message flows say about routing, read from the BPMN files.

A message flow goes from a throwing element (intermediate throw event, end event or send
task; or a whole pool) to a catching one (message start event, intermediate catch, receive
task, boundary event; or a whole pool). The runtime routes a message thrown in one pool to
the pool at the other end: `flow_targets` gives, per message name, the processes a flow
leads to; `partner_processes` the executable pools linked to a chosen one (deployed with it).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from .bpmn_xml import _WRAPPED, BPMN_NS, NS, SPIFF_NS, unwrap

_Q = f"{{{BPMN_NS}}}"


def _process_of(root: etree._Element) -> dict[str, str]:
    """Element id -> the id of the process it belongs to (participant ids -> processRef)."""
    owner = {}
    for process in root.iter(f"{_Q}process"):
        for el in process.iter():
            if isinstance(el.tag, str) and el.get("id"):
                owner[el.get("id")] = process.get("id")
    for participant in root.iter(f"{_Q}participant"):
        if participant.get("processRef"):
            owner[participant.get("id")] = participant.get("processRef")
    return owner


def _message_of(root: etree._Element) -> dict[str, str]:
    """Element id -> the name of the message it throws or catches."""
    names = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{_Q}message")}
    out = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        ref = el.get("messageRef")  # send/receive task
        if ref is None:
            med = el.find(f"{_Q}messageEventDefinition")
            ref = med.get("messageRef") if med is not None else None
        if ref in names:
            out[el.get("id")] = names[ref]
    return out


def flow_targets(roots: list[etree._Element]) -> dict[str, set[str]]:
    """Message name -> the processes its message flows lead to."""
    out: dict[str, set[str]] = {}
    for root in roots:
        owner, message = _process_of(root), _message_of(root)
        for flow in root.iter(f"{_Q}messageFlow"):
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            name = message.get(source) or message.get(target)
            if name and owner.get(target):
                out.setdefault(name, set()).add(owner[target])
    return out


def partner_processes(roots: list[etree._Element], process_id: str,
                      executable: set[str]) -> list[str]:
    """The other executable processes joined to `process_id` by message flows (directly or
    through another partner), in document order."""
    edges: dict[str, set[str]] = {}
    order: list[str] = []
    for root in roots:
        owner = _process_of(root)
        order += [p.get("id") for p in root.iter(f"{_Q}process")]
        for flow in root.iter(f"{_Q}messageFlow"):
            a, b = owner.get(flow.get("sourceRef")), owner.get(flow.get("targetRef"))
            if a and b and a != b:
                edges.setdefault(a, set()).add(b)
                edges.setdefault(b, set()).add(a)
    seen, todo = {process_id}, [process_id]
    while todo:
        for other in edges.get(todo.pop(), set()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return [p for p in order if p in seen and p != process_id and p in executable]


def describe(roots: list[Any]) -> dict[str, list[str]]:
    """JSON-friendly `flow_targets` (for deploy answers and docs)."""
    return {k: sorted(v) for k, v in sorted(flow_targets(roots).items())}


def camunda_message_payloads(root: etree._Element) -> None:
    """A Camunda throw (intermediate throw event, message end event, send task) with input
    parameters (``camunda:inputOutput`` / ``camunda:inputParameter``, what Camunda Modeler's
    "Inputs" writes) sends those as its payload: rewritten in place, before parsing, into
    SpiffArena's ``spiffworkflow:messagePayload`` expression (``${expr}`` is an expression,
    other text a string; map/list/script parameters are left out). Without input parameters
    a Camunda throw sends the task data (`events.CecpMessageEventDefinition`)."""
    for el in root.iter(f"{_Q}intermediateThrowEvent", f"{_Q}endEvent", f"{_Q}sendTask"):
        target = el if el.tag == f"{_Q}sendTask" else el.find(f"{_Q}messageEventDefinition")
        if target is None or target.xpath(".//spiffworkflow:messagePayload", namespaces=NS):
            continue
        items = []
        for p in el.xpath("./bpmn:extensionElements/camunda:inputOutput/camunda:inputParameter",
                          namespaces=NS):
            if not p.get("name") or len(p):
                continue
            text = p.text or ""
            expr = unwrap(text) if _WRAPPED.match(text) else repr(text)
            items.append(f"{p.get('name')!r}: ({expr})")
        if not items:
            continue
        ext = target.find(f"{_Q}extensionElements")
        if ext is None:
            ext = etree.Element(f"{_Q}extensionElements")
            docs = len(target.findall(f"{_Q}documentation"))
            target.insert(docs, ext)
        payload = etree.SubElement(ext, f"{{{SPIFF_NS}}}messagePayload")
        payload.text = "{" + ", ".join(items) + "}"
