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


def test_changed_accounts_rebuild_the_issued_reports(app, report_world, monkeypatch):
    """A new account version rebuilds the report already issued for that year and for the
    year after (it compares with it); an enterprise-year nobody asked a report for gets none."""
    from sqlalchemy import select

    from app.documents.models import Document
    from app.extensions import db
    from app.uow import commit
    from reports import service as reports
    from tests.report_pdf.conftest import LINES, change_month

    a, b = report_world
    monkeypatch.setitem(app.config, "CECP_REPORTS_ON_ACCOUNT_CHANGE", True)
    first = reports.request_report(enterprise=a, year=2025)
    commit()
    assert db.session.get(Document, first.id).status == "ready"

    def docs(ent):
        db.session.expire_all()
        return db.session.scalars(
            select(Document).where(Document.subject_id == ent.uscc).order_by(Document.version)
        ).all()

    changed = [dict(ln) for ln in LINES]
    changed[0]["amount"] = "130"
    change_month(a, 2025, 3, lines=changed)
    rows = docs(a)
    assert [(d.period, d.version, d.trigger, d.status) for d in rows] == [
        ("2025", 1, "manual", "ready"),
        ("2025", 2, "accounts_changed", "ready"),
    ]
    assert documents.verify(document_id=first.id)["status"] == "superseded"
    assert documents.verify(document_id=rows[1].id)["status"] == "valid"
    # the year before changes: the 2025 report (which compares with 2024) follows
    change_month(a, 2024, 5, lines=changed)
    assert [d.version for d in docs(a)] == [1, 2, 3]
    # no report was ever issued for B: its changes make none
    change_month(b, 2025, 3, lines=changed)
    assert docs(b) == []
    # switched off: nothing more
    monkeypatch.setitem(app.config, "CECP_REPORTS_ON_ACCOUNT_CHANGE", False)
    change_month(a, 2025, 4, lines=changed)
    assert [d.version for d in docs(a)] == [1, 2, 3]
