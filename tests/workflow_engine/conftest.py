"""Fixtures for the DB-free workflow engine tests (no Flask app, no database)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m` does not add the checkout
    sys.path.insert(0, str(ROOT))

PROCESSES = ROOT / "processes"
ROLES = {"admin", "reviewer", "approver", "enterprise", "verifier"}

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'id="Definitions_test" targetNamespace="http://cecp.test/bpmn">\n'
)


def bpmn(body: str, process_id: str = "p", lanes: dict[str, list[str]] | None = None,
         extra: str = "") -> bytes:
    """A small BPMN document: `body` is the inside of the process; `lanes` maps lane name
    to node ids; `extra` goes after the process (messages...)."""
    lane_xml = ""
    if lanes:
        lane_xml = '<bpmn:laneSet id="ls">' + "".join(
            f'<bpmn:lane id="lane_{i}" name="{name}">'
            + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
            + "</bpmn:lane>" for i, (name, nodes) in enumerate(lanes.items())) + "</bpmn:laneSet>"
    return (HEAD + f'<bpmn:process id="{process_id}" isExecutable="true">{lane_xml}{body}'
            f"</bpmn:process>{extra}</bpmn:definitions>\n").encode("utf-8")


def flow(fid: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">'
            f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>"
            "</bpmn:sequenceFlow>")


def read_process(name: str) -> dict[str, bytes]:
    """The model files of processes/<name>/ (tests and other files are ignored by the engine)."""
    return {p.name: p.read_bytes() for p in (PROCESSES / name).iterdir() if p.is_file()}
