"""The report case makes the report: once when submitted (初审 reached), again when
published; the case's BPMN is untouched (a workflow task listener)."""

from __future__ import annotations

from app.documents import service as documents
from tests.workflow.conftest import world  # noqa: F401 - fixture

APPROVE = {"decision": "approve", "comment": "同意"}


def test_submitted_and_published_case_generates_reports(app, world, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "CECP_REPORTS_ON_CASES", True)
    inst = world.start()
    assert documents.list_(scope=documents.ALL, subject_id=world.ent.uscc) == []
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    docs = documents.list_(scope=documents.ALL, subject_id=world.ent.uscc)
    assert [(d.trigger, d.status, d.period) for d in docs] == [("submitted", "ready", "2025")]
    inst = world.do(inst, "initial_review", world.reviewer, APPROVE)
    inst = world.do(inst, "final_review", world.approver, APPROVE)
    docs = documents.list_(scope=documents.ALL, subject_id=world.ent.uscc)
    assert sorted((d.trigger, d.version) for d in docs) == [("published", 2), ("submitted", 1)]
    published = next(d for d in docs if d.trigger == "published")
    assert documents.verify(document_id=published.id)["status"] == "valid"
    submitted = next(d for d in docs if d.trigger == "submitted")
    assert documents.verify(document_id=submitted.id)["status"] == "superseded"
    # the other enterprise's case made nothing for it
    assert documents.list_(scope=documents.ALL, subject_id=world.ent_b.uscc) == []


def test_switched_off_generates_nothing(world):  # noqa: F811
    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    assert documents.list_(scope=documents.ALL, subject_id=world.ent.uscc) == []
