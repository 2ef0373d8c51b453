"""processes/factor_check end to end: errors against measured results, the verification
body's decision, the SM2-signed record, certified versions; and the metrics by hand."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.uow import commit


def test_metrics_by_hand():
    from app.factors.checks import metrics

    m = metrics([110, 95, 100], [100, 100, 100], tolerance_pct=5)
    assert m["mape_pct"] == pytest.approx(5.0)
    assert m["bias_pct"] == pytest.approx(5 / 3)
    assert m["max_error_pct"] == pytest.approx(10.0)
    assert m["passed"] is True and m["n"] == 3
    assert metrics([110], [100], tolerance_pct=5)["passed"] is False


@pytest.fixture()
def bodies(db):
    """Two accredited verification bodies (VB-A first by code, so auto-assigned)."""
    from datetime import date

    from app.orgs.models import VerificationBody

    db.session.add_all([
        VerificationBody(code="VB-A", name="甲核查中心", region_code="330000",
                         accreditation="CNAS-A", accreditation_scope="*",
                         accredited_until=date(2099, 12, 31)),
        VerificationBody(code="VB-B", name="乙核查中心", region_code="330000",
                         accreditation="CNAS-B", accreditation_scope="*")])
    commit()
    return ("VB-A", "VB-B")


def _run(world_user, verifier, data):
    from app.workflow import service

    inst = service.start(model="factor_check", data=data, user=world_user)
    commit()
    assert inst.status == "running", inst.error if hasattr(inst, "error") else inst.status
    (task,) = service.current_tasks(inst=inst)
    assert task.name == "verify" and task.lane == "verifier"
    return inst, task


def test_enterprise_check_signed_and_certified(db, make_ent, history, make_user, bodies):
    from app.factors import checks, library
    from app.factors.models import FactorCheck
    from app.workflow import deploy, service
    from app.workflow.errors import NotFound

    ent = make_ent(81)
    history(ent)
    library.compute()
    deploy.deploy_builtins()
    commit()
    reviewer = make_user("reviewer", region="330500")
    verifier = make_user("verifier", verification_body="VB-A")
    outsider = make_user("verifier", region="330100")
    inst, task = _run(reviewer, verifier, {"subject": "enterprise",
                                           "enterprise_uscc": ent.uscc, "tolerance_pct": 10})
    data = service.task_data(inst)
    assert data["check"]["basis"] == "accounts" and data["check"]["n"] == 24
    assert data["check"]["passed"] is True and data["check"]["mape_pct"] < 10
    with pytest.raises(NotFound):  # a verifier outside the case sees no such task
        service.complete(task_id=task.id, user=outsider, data={"decision": "confirm"})
    db.session.rollback()
    inst = service.complete(task_id=task.id, user=verifier,
                            data={"decision": "confirm", "comment": "抽查 3 个月，一致"})
    commit()
    assert inst.status == "completed"
    rec = db.session.scalars(select(FactorCheck)).one()
    assert rec.passed and rec.subject == "enterprise" and rec.n == 24
    statement = json.loads(rec.statement)
    assert statement["body_decision"] == "confirm" and statement["verifier"] == verifier.email
    assert checks.verify(rec)
    rec.statement = rec.statement.replace('"passed":true', '"passed":false')
    assert not checks.verify(rec)
    db.session.rollback()
    cur = library.current(enterprise_id=ent.id)
    assert (cur.origin, cur.version, cur.check_id) == ("certified", 2, rec.id)
    assert [h.origin for h in library.history(enterprise_id=ent.id)] == ["certified",
                                                                          "computed"]


def test_rejected_or_out_of_tolerance_is_signed_but_not_certified(db, make_ent, history,
                                                                   make_user, bodies):
    from app.factors import library
    from app.factors.models import FactorCheck
    from app.workflow import deploy, service

    ent = make_ent(82)
    history(ent)
    library.compute()
    deploy.deploy_builtins()
    commit()
    reviewer = make_user("reviewer", region="330500")
    verifier = make_user("verifier", verification_body="VB-B")
    inst, task = _run(reviewer, verifier, {"subject": "enterprise",
                                           "enterprise_uscc": ent.uscc, "body_code": "VB-B",
                                           "tolerance_pct": 0.0001})
    assert service.task_data(inst)["check"]["passed"] is False
    service.complete(task_id=task.id, user=verifier, data={"decision": "confirm"})
    commit()
    rec = db.session.scalars(select(FactorCheck)).one()
    assert rec.passed is False and json.loads(rec.statement)["computed_pass"] is False
    assert library.current(enterprise_id=ent.id).origin == "computed"


def test_regional_check_against_official_factors(db, reference, make_user, bodies):
    from app.factors import regional
    from app.factors.models import FactorCheck, RegionalNetwork
    from app.workflow import deploy, service

    net = regional.load_demo()
    deploy.deploy_builtins()
    commit()
    approver = make_user("approver", region="330000")
    verifier = make_user("verifier", verification_body="VB-A")
    inst, task = _run(approver, verifier, {"subject": "region", "network_id": net.id,
                                           "region_code": "330000", "tolerance_pct": 50})
    chk = service.task_data(inst)["check"]
    assert chk["n"] == 30 and chk["basis"] == "official_provincial_factors" and chk["is_demo"]
    service.complete(task_id=task.id, user=verifier, data={"decision": "confirm"})
    commit()
    rec = db.session.scalars(select(FactorCheck)).one()
    net = db.session.get(RegionalNetwork, net.id)
    assert rec.subject == "region" and rec.network_id == net.id
    assert net.status == ("certified" if rec.passed else "simulated")
    assert rec.passed == (float(rec.mape_pct) <= 50)


def test_check_from_the_page_and_the_signed_record_api(client, db, make_ent, history,
                                                       make_user, auth, bodies):
    from app.factors import library
    from app.workflow import deploy, service
    from tests.conftest import enrol_totp, login

    ent, other = make_ent(83), make_ent(84, region="330106")
    history(ent)
    history(other, seed=9)
    library.compute()
    deploy.deploy_builtins()
    commit()
    approver = make_user("approver", region="330000")
    verifier = make_user("verifier", verification_body="VB-A")
    enrol_totp(approver)
    login(client, approver)
    r = client.post(f"/factors/enterprises/{ent.uscc}/check", data={"tolerance_pct": "abc"},
                    follow_redirects=True)
    assert "容差应为" in r.get_data(as_text=True)
    r = client.post(f"/factors/enterprises/{ent.uscc}/check", data={"tolerance_pct": "15"})
    assert r.status_code == 302 and "/workflow/instances/" in r.headers["Location"]
    inst_id = int(r.headers["Location"].rsplit("/", 1)[1])
    from app.workflow.models import ProcessInstance

    inst = db.session.get(ProcessInstance, inst_id)
    (task,) = service.current_tasks(inst=inst)
    service.complete(task_id=task.id, user=verifier, data={"decision": "confirm"})
    commit()
    html = client.get(f"/factors/enterprises/{ent.uscc}").get_data(as_text=True)
    assert "SM2 签名有效" in html and "第三方认证" in html
    from app.factors.models import FactorCheck

    rec = db.session.scalars(select(FactorCheck)).one()
    client.post("/auth/logout")  # from here on, only the tokens speak
    owner = make_user("enterprise", enterprise=ent.uscc)
    body = client.get(f"/api/v1/factors/checks/{rec.id}", headers=auth(owner)).get_json()
    assert body["signature_valid"] is True and body["passed"] is True
    assert json.loads(body["statement"])["enterprise"] == ent.uscc
    stranger = make_user("enterprise", enterprise=other.uscc)
    assert client.get(f"/api/v1/factors/checks/{rec.id}",
                      headers=auth(stranger)).status_code == 404


def _openssl_ok(tmp_path, pem: str, pdf: bytes, sig: bytes) -> bool:
    import shutil
    import subprocess

    exe = shutil.which("openssl")
    if exe is None:
        pytest.skip("openssl CLI not installed")
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "doc.pdf").write_bytes(pdf)
    (tmp_path / "sig.der").write_bytes(sig)
    r = subprocess.run([exe, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
                        "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
                        "-in", str(tmp_path / "doc.pdf"), "-sigfile", str(tmp_path / "sig.der")],
                       capture_output=True, timeout=60)
    return r.returncode == 0 and b"Signature Verified Successfully" in r.stdout


def test_body_party_signed_document_openssl_and_wrong_body(client, db, make_ent, history,
                                                           make_user, auth, bodies, tmp_path):
    """start → compute → the assigned body's verifier confirms → a PDF statement signed by
    the body's certified key → certified version; another body's verifier and the
    enterprise neither see nor complete the task; OpenSSL verifies; a tampered PDF fails."""
    import subprocess

    from app.audit.models import AuditRecord
    from app.documents.models import Document
    from app.factors import library
    from app.factors.models import FactorCheck
    from app.uow import rollback
    from app.verification.models import BodyConflict
    from app.workflow import deploy, service
    from app.workflow.errors import Forbidden, Invalid, NotFound

    ent = make_ent(85)
    history(ent)
    library.compute()
    deploy.deploy_builtins()
    db.session.add(BodyConflict(body_code="VB-A", enterprise_uscc=ent.uscc, reason="咨询服务"))
    commit()
    reviewer = make_user("reviewer", region="330500")
    with pytest.raises(Invalid) as exc:  # a conflicted body is refused when named
        service.start(model="factor_check", user=reviewer,
                      data={"subject": "enterprise", "enterprise_uscc": ent.uscc,
                            "body_code": "VB-A", "tolerance_pct": 10})
    assert "利益冲突" in exc.value.fields["body_code"]
    rollback()
    # auto-assignment skips the conflicted VB-A and picks VB-B
    inst = service.start(model="factor_check", user=reviewer,
                         data={"subject": "enterprise", "enterprise_uscc": ent.uscc,
                               "tolerance_pct": 10})
    commit()
    assert inst.verification_body_code == "VB-B"
    (task,) = service.current_tasks(inst=inst)
    assert task.verification_body_code == "VB-B"
    mine = make_user("verifier", verification_body="VB-B")
    other = make_user("verifier", verification_body="VB-A")
    company = make_user("enterprise", enterprise=ent.uscc)
    inbox = client.get("/api/v1/tasks", headers=auth(mine)).get_json()
    assert task.id in str(inbox)
    assert task.id not in str(client.get("/api/v1/tasks", headers=auth(other)).get_json())
    for outsider in (other, company):
        with pytest.raises((NotFound, Forbidden)):  # unseen, or seen but not its role
            service.complete(task_id=task.id, user=outsider, data={"decision": "confirm"})
        rollback()
    regional = make_user("verifier", region="330000")  # a verifier whose scope covers the
    with pytest.raises(Forbidden):                        # region but not the body
        service.complete(task_id=task.id, user=regional, data={"decision": "confirm"})
    rollback()
    inst = service.complete(task_id=task.id, user=mine,
                            data={"decision": "confirm", "comment": "抽查一致"})
    commit()
    assert inst.status == "completed"
    rec = db.session.scalars(select(FactorCheck)).one()
    assert rec.passed and rec.body_code == "VB-B" and rec.document_id
    doc = db.session.get(Document, rec.document_id)
    assert doc.kind == "factor_check_statement" and doc.signer_key_id != "platform"
    assert doc.verification_body == "VB-B" and doc.enterprise_uscc == ent.uscc
    cur = library.current(enterprise_id=ent.id)
    assert (cur.origin, cur.check_id) == ("certified", rec.id)

    # the PDF shows the metrics, the points and the factor version
    (tmp_path / "s.pdf").write_bytes(doc.pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True,
                          timeout=60).stdout.decode()
    for needle in ("MAPE", "bias", "max error", "tolerance", "第 1 版", "通过", "乙核查中心",
                   "2023"):  # a compared month's period
        assert needle in text, needle

    # public verify endpoint, the body's published key, OpenSSL; a tampered PDF fails
    v = client.get(f"/api/v1/documents/{doc.id}/verify").get_json()
    assert v["valid"] is True
    pem = client.get(f"/api/v1/keys/{doc.signer_key_id}.pem").get_data(as_text=True)
    headers = auth(company)
    pdf = client.get(f"/api/v1/documents/{doc.id}/pdf", headers=headers).data
    sig = client.get(f"/api/v1/documents/{doc.id}/signature", headers=headers).data
    assert pdf == doc.pdf and _openssl_ok(tmp_path, pem, pdf, sig)
    tampered = bytearray(pdf)
    tampered[len(tampered) // 2] ^= 0x01
    assert not _openssl_ok(tmp_path, pem, bytes(tampered), sig)
    doc.pdf = bytes(tampered)
    db.session.flush()
    from app.documents import service as documents

    assert documents.verify(document_id=doc.id)["valid"] is False
    db.session.rollback()
    for action in ("factors.check.refused", "factors.check.assignment.refused"):
        assert db.session.scalar(select(AuditRecord).where(
            AuditRecord.action == action)) is not None, action
