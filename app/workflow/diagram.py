"""What the diagram views show: a case's path on its own version's BPMN, and what changed
between two versions of a model (elements added, removed or changed)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from app.workflow import deploy, engine
from app.workflow.engine.bpmn_xml import BPMN_NS, file_kind, safe_parse
from app.workflow.models import ProcessInstance, ProcessModelVersion

_CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def process_file(files: dict[str, str], process_id: str) -> tuple[str, str] | None:
    """(name, text) of the BPMN file that defines `process_id` (the first BPMN otherwise)."""
    first = None
    for name in sorted(files):
        if not name.lower().endswith((".bpmn", ".xml")):
            continue
        try:
            root = safe_parse(files[name], name)
        except engine.ModelError:
            continue
        if file_kind(root) != "bpmn":
            continue
        first = first or (name, files[name])
        if any(p.get("id") == process_id for p in root.iter(f"{{{BPMN_NS}}}process")):
            return name, files[name]
    return first


def instance_path(inst: ProcessInstance) -> dict[str, Any]:
    """The case's BPMN with the elements it has completed and the ones it is at now (BPMN
    ids, subprocesses included); the viewer highlights them and the flows between them."""
    loaded = deploy.loaded_by_id(inst.version_id, inst.content_hash)
    wf = engine.deserialize(loaded.bundle, inst.blob)
    completed: set[str] = set()
    current: set[str] = set()
    for task in wf.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif task.state & _CURRENT and inst.status != "completed" and \
                not isinstance(task.task_spec, BoundaryEvent):  # a waiting timer is no step
            current.add(bpmn_id)
    files = json.loads(inst.model_version.files)
    found = process_file(files, loaded.bundle.process_id)
    return {"xml": found[1] if found else "", "file": found[0] if found else None,
            "completed": sorted(completed - current), "current": sorted(current),
            "status": inst.status}


def _elements(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(files):
        if not name.lower().endswith((".bpmn", ".xml", ".dmn")):
            continue
        try:
            root = safe_parse(files[name], name)
        except engine.ModelError:
            continue
        for el in root.iter(etree.Element):
            qname = etree.QName(el)
            if qname.namespace != BPMN_NS or not el.get("id") or qname.localname in (
                    "definitions", "incoming", "outgoing"):
                continue
            body = etree.tostring(el, with_tail=False)
            if qname.localname in ("process", "subProcess", "laneSet", "collaboration"):
                body = json.dumps(sorted(el.attrib.items())).encode()
            out[el.get("id")] = {"id": el.get("id"), "type": qname.localname,
                                 "name": el.get("name"),
                                 "digest": hashlib.sha256(body).hexdigest()}
    return out


def version_diff(old: ProcessModelVersion | None, new: ProcessModelVersion) -> dict[str, Any]:
    """Elements added, removed and changed (same id, different content) from `old` to
    `new`, plus the files added, removed or changed (forms, DMN, the lane mapping)."""
    new_files = json.loads(new.files)
    old_files = json.loads(old.files) if old is not None else {}
    a, b = _elements(old_files), _elements(new_files)
    strip = ("digest",)

    def public(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in strip}

    return {
        "added": [public(b[i]) for i in sorted(b.keys() - a.keys())],
        "removed": [public(a[i]) for i in sorted(a.keys() - b.keys())],
        "changed": [public(b[i]) for i in sorted(a.keys() & b.keys())
                    if a[i]["digest"] != b[i]["digest"]],
        "files": {"added": sorted(new_files.keys() - old_files.keys()),
                  "removed": sorted(old_files.keys() - new_files.keys()),
                  "changed": sorted(n for n in new_files.keys() & old_files.keys()
                                    if new_files[n] != old_files[n])},
    }
