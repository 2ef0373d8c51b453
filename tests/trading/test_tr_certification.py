"""Certification end to end on the real engine: the owner submits a monitoring report, the
engaged verification body verifies (correcting downward with a reason), a reviewer sends
back then certifies; the lot (whole tonnes, rounded down) and an SM2-signed certificate
(verifiable by the documents service and OpenSSL) are issued exactly once."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.trading import certification as cert
from app.trading import ledger, methodologies
from app.trading.models import Lot, MonitoringReport, Movement
from app.uow import commit, rollback
from app.workflow import assignment
from app.workflow import service as workflow
from app.workflow.errors import Forbidden, NotFound

PARAMS = {"eg_net_mwh": "12345.678", "ef_om": "0.8367", "ef_bm": "0.2877",
          "technology": "solar"}


@pytest.fixture()
def cworld(reference, make_ent, make_project, make_user):
    from app.orgs.models import VerificationBody
    from app.workflow import deploy

    db = reference
    deploy.deploy_builtins()
    ent = make_ent(1)
    project = make_project(ent, code="PVC")
    db.session.add_all([
        VerificationBody(code="VB-A", name="甲核查中心", region_code="330000",
                         accreditation="CNAS-A", accreditation_scope="*",
                         accredited_until=date(2099, 12, 31)),
        VerificationBody(code="VB-B", name="乙核查中心", region_code="330000",
                         accreditation="CNAS-B", accreditation_scope="*")])
    result = methodologies.calculate("grid_renewable", PARAMS)
    report = MonitoringReport(project_id=project.id, period_start=date(2025, 1, 1),
                              period_end=date(2025, 12, 31), status="draft",
                              result=result, reduction=Decimal(result["reduction"]))
    db.session.add(report)
    commit()
    return {"db": db, "ent": ent, "project": project, "report": report,
            "owner": make_user("enterprise", enterprise=ent.uscc),
            "lead": make_user("verifier", verification_body="VB-A"),
            "other": make_user("verifier", verification_body="VB-B"),
            "reviewer": make_user("reviewer", region="330500"),
            "far_reviewer": make_user("reviewer", region="110000")}


def _task(inst, name):
    found = [t for t in workflow.current_tasks(inst=inst) if t.name == name]
    assert len(found) == 1, [t.name for t in workflow.current_tasks(inst=inst)]
    return found[0]


def _do(inst, name, user, data):
    inst = workflow.complete(task_id=_task(inst, name).id, user=user, data=data)
    commit()
    return inst


def _inbox(user, db):
    return [t.name for t in db.session.scalars(assignment.tasks_query(user=user))]


def test_submit_verify_return_certify_issue(cworld, tmp_path):
    w, db = cworld, cworld["db"]
    report = w["report"]
    quantified = report.reduction
    inst = workflow.start(model="reduction_certification",
                          data={"report_id": report.id, "body_code": "VB-A"}, user=w["owner"])
    commit()
    db.session.refresh(report)
    assert report.status == "submitted" and report.case_id == inst.id
    assert inst.verification_body_code == "VB-A"
    # only the engaged body's verifier sees the task; another body's cannot act on it
    assert _inbox(w["lead"], db) == ["verify"] and _inbox(w["other"], db) == []
    with pytest.raises((Forbidden, NotFound)):
        workflow.complete(task_id=_task(inst, "verify").id, user=w["other"],
                          data={"verified_tonnes": 1, "evidence": "x", "opinion": "qualified"})
    rollback()
    with pytest.raises((Forbidden, NotFound)):  # wrong role
        workflow.complete(task_id=_task(inst, "verify").id, user=w["reviewer"],
                          data={"verified_tonnes": 1, "evidence": "x", "opinion": "qualified"})
    rollback()
    # upward correction refused; downward needs a reason
    from app.workflow.errors import Invalid
    for data, field in (({"verified_tonnes": float(quantified) + 1}, "verified_tonnes"),
                        ({"verified_tonnes": 7000.5}, "correction_reason")):
        with pytest.raises(Invalid) as exc:
            workflow.complete(task_id=_task(inst, "verify").id, user=w["lead"], data={
                **data, "evidence": "上网电量结算单 12 份", "opinion": "qualified"})
        assert field in exc.value.fields
        rollback()
    inst = _do(inst, "verify", w["lead"], {
        "verified_tonnes": 7000.5, "correction_reason": "3 月电表故障期间按保守值扣减",
        "evidence": "上网电量结算单 12 份；现场核查", "findings": "电表 3 月故障，已关闭",
        "opinion": "qualified"})
    db.session.refresh(report)
    assert report.status == "verified"
    assert _inbox(w["reviewer"], db) == ["certify"] and _inbox(w["far_reviewer"], db) == []
    # send back to the verifier, then verified again and certified
    inst = _do(inst, "certify", w["reviewer"], {"decision": "return", "comment": "请补充证据"})
    db.session.refresh(report)
    assert report.status == "submitted" and _inbox(w["lead"], db) == ["verify"]
    inst = _do(inst, "verify", w["lead"], {
        "verified_tonnes": 7000.5, "correction_reason": "3 月电表故障期间按保守值扣减",
        "evidence": "补充：电网公司结算单", "opinion": "qualified"})
    inst = _do(inst, "certify", w["reviewer"], {"decision": "certify"})
    assert inst.status == "completed", inst.status
    db.session.refresh(report)
    assert report.status == "certified" and report.certified_tonnes == 7000  # rounded down
    lot = db.session.get(Lot, report.lot_id)
    assert lot.serial_end - lot.serial_start + 1 == 7000 and lot.vintage == 2025
    acc = ledger.holding_account(enterprise=w["ent"])
    assert ledger.balance(account_id=acc.id) == 7000
    # the certificate: stored, signed, verifiable by the service and OpenSSL
    from app.crypto.signing import public_pem
    from app.documents import service as documents
    from app.documents.models import Document

    doc = db.session.get(Document, report.document_id)
    assert doc.kind == "reduction_certificate" and doc.pdf.startswith(b"%PDF-")
    assert documents.verify(document_id=doc.id)["valid"] is True
    exe = shutil.which("openssl")
    if exe:
        (tmp_path / "pub.pem").write_text(public_pem())
        (tmp_path / "c.pdf").write_bytes(doc.pdf)
        (tmp_path / "c.sig").write_bytes(doc.signature)
        args = [exe, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
                "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
                "-in", str(tmp_path / "c.pdf"), "-sigfile", str(tmp_path / "c.sig")]
        assert subprocess.run(args, capture_output=True, timeout=60).returncode == 0
    assert db.session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "trading.report.certified")) == 1


def test_issue_step_is_idempotent(cworld):
    w, db = cworld, cworld["db"]
    report = w["report"]
    report.status = "verified"
    commit()
    for _ in range(2):
        cert.issue(report_id=report.id, verified=Decimal("99.99"),
                   verification={"body_code": "VB-A"}, user=w["reviewer"])
        commit()
    assert db.session.scalar(select(func.count()).select_from(Lot)) == 1
    assert db.session.scalar(select(func.count()).select_from(Movement).where(
        Movement.kind == "issue")) == 1
    db.session.refresh(report)
    assert report.certified_tonnes == 99
    assert ledger.balance(account_id=ledger.holding_account(enterprise=w["ent"]).id) == 99


def test_start_refused_for_foreign_or_bad_input(cworld, make_ent, make_user):
    from app.workflow.errors import Invalid

    w = cworld
    stranger = make_user("enterprise", enterprise=make_ent(2).uscc)
    for user, data, field in ((stranger, {"report_id": w["report"].id, "body_code": "VB-A"},
                               "report_id"),
                              (w["owner"], {"report_id": w["report"].id, "body_code": "NOPE"},
                               "body_code"),
                              (w["owner"], {"report_id": "x", "body_code": "VB-A"},
                               "report_id")):
        with pytest.raises(Invalid) as exc:
            workflow.start(model="reduction_certification", data=data, user=user)
        assert field in exc.value.fields
        rollback()


def test_concurrent_issue_steps_issue_once(app, cworld):
    """Two workers replaying the issue step at the same moment (PostgreSQL row lock)."""
    import threading

    w, db = cworld, cworld["db"]
    report_id = w["report"].id
    barrier, results = threading.Barrier(2), []

    def worker() -> None:
        from app.extensions import db as tdb

        with app.app_context():
            barrier.wait()
            try:
                r = cert.issue(report_id=report_id, verified=Decimal("500.9"),
                               verification={"body_code": "VB-A"}, user=None)
                tdb.session.commit()
                results.append(r.lot_id)
            finally:
                tdb.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    db.session.expire_all()
    assert len(results) == 2 and results[0] == results[1] is not None
    assert db.session.scalar(select(func.count()).select_from(Lot)) == 1
    from app.documents.models import Document
    assert db.session.scalar(select(func.count()).select_from(Document).where(
        Document.kind == "reduction_certificate")) == 1
    assert ledger.balance(account_id=ledger.holding_account(enterprise=w["ent"]).id) == 500
