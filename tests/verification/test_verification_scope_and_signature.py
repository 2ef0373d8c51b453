"""A verifier of another body gets 404 for the case, its attachments and its statement
(pages and API); the statement (a document of the store, signed with the body's own key)
verifies with OpenSSL and the body's published key (a flipped byte fails); the body key is
certified by the platform key; a tampered or unknown statement verifies as invalid; the
account shows "经第三方核查"."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from app.crypto import signing
from app.documents.models import Document
from app.extensions import db
from app.uow import commit
from app.verification import statement as statements
from app.verification.models import Statement
from tests.conftest import api_token, login

from .conftest import YEAR, run_to_statement

OPENSSL = shutil.which("openssl")


def _openssl_verify(tmp_path, pem: str, data: bytes, sig: bytes) -> subprocess.CompletedProcess:
    (tmp_path / "body.pem").write_text(pem)
    (tmp_path / "statement.pdf").write_bytes(data)
    (tmp_path / "statement.sig").write_bytes(sig)
    return subprocess.run(
        [
            OPENSSL,
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(tmp_path / "body.pem"),
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
            "-in",
            str(tmp_path / "statement.pdf"),
            "-sigfile",
            str(tmp_path / "statement.sig"),
        ],
        capture_output=True,
        check=False,
    )


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_statement_verifies_with_openssl_and_the_body_key(vworld, client, tmp_path, auth):
    w = vworld
    _report, _v, stmt = run_to_statement(w)
    headers = auth(w.lead)
    meta = client.get(f"/api/v1/documents/{stmt.document_id}", headers=headers).get_json()
    key_id = meta["signer_key_id"]
    assert meta["kind"] == "verification_statement" and key_id != "platform"
    pdf = client.get(f"/api/v1/documents/{stmt.document_id}/pdf", headers=headers).data
    sig = client.get(f"/api/v1/documents/{stmt.document_id}/signature", headers=headers).data
    pem = client.get(f"/api/v1/keys/{key_id}.pem").get_data(as_text=True)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and pdf.startswith(b"%PDF")
    res = _openssl_verify(tmp_path, pem, pdf, sig)
    assert res.returncode == 0 and b"Signature Verified Successfully" in res.stdout
    flipped = bytearray(pdf)
    flipped[len(flipped) // 2] ^= 0x01
    assert _openssl_verify(tmp_path, pem, bytes(flipped), sig).returncode != 0
    # the platform key did not sign it: the body's own key did
    assert _openssl_verify(tmp_path, signing.public_pem(), pdf, sig).returncode != 0
    # the body key is the body's, certified by the platform key (OpenSSL checks that too)
    key = client.get(f"/api/v1/keys/{key_id}").get_json()
    cert = key["certificate"]
    payload = signing.read_token(cert)
    assert key["certified"] is True and "VB-A" in str(payload)
    body_b64, sig_b64 = cert.split(".")
    res = _openssl_verify(
        tmp_path, signing.public_pem(), signing._unb64(body_b64), signing._unb64(sig_b64)
    )
    assert res.returncode == 0
    assert b"/FontFile2" in pdf  # the CJK font is embedded


def test_public_verification_and_tampering(vworld, client):
    w = vworld
    _report, _v, stmt = run_to_statement(w)
    page = client.get(f"/documents/{stmt.document_id}/verify").get_data(as_text=True)
    assert "甲核查中心" in page
    api = client.get(f"/api/v1/documents/{stmt.document_id}/verify").get_json()
    assert api["valid"] is True and api["status"] == "valid"
    assert statements.check(stmt)["opinion"] == "unqualified"
    doc = db.session.get(Document, stmt.document_id)
    pdf = bytearray(doc.pdf)
    pdf[100] ^= 0x01
    doc.pdf = bytes(pdf)  # tampered with in the database
    commit()
    db.session.expire_all()
    assert statements.check(statements.get_by_uid(stmt.uid))["valid"] is False
    assert (
        client.get(f"/api/v1/documents/{stmt.document_id}/verify").get_json()["status"] == "invalid"
    )


def test_other_body_gets_404_for_case_attachments_and_statement(vworld, client):
    w = vworld
    report, v, stmt = run_to_statement(w, evidence_file=b"\xff\xd8evidence")
    att = w.extra["attachment"]
    assert att.ciphertext != b"\xff\xd8evidence"  # encrypted at rest
    urls = [
        f"/verification/{v.id}",
        f"/documents/{stmt.document_id}/download",
        f"/api/v1/documents/{stmt.document_id}/pdf",
        f"/workflow/attachments/{att.id}",
        f"/workflow/instances/{v.instance_id}",
    ]
    login(client, w.other)
    for url in urls:
        assert client.get(url).status_code == 404, url
    headers = api_token(client, w.other)
    assert client.get(f"/api/v1/verifications/{v.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/verifications", headers=headers).get_json()["items"] == []
    r = client.post(
        f"/api/v1/verifications/{v.id}/checks",
        headers=headers,
        json={"source": "combustion", "month": 1, "status": "checked"},
    )
    assert r.status_code == 404
    client.post("/auth/logout")
    login(client, w.lead)
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert client.get(f"/workflow/attachments/{att.id}").data == b"\xff\xd8evidence"
    page = client.get("/verification").get_data(as_text=True)
    assert "测试水泥有限公司" in page and "无保留意见" in page
    home = client.get("/").get_data(as_text=True)
    assert 'id="panel-verification"' in home and "已出具核查声明" in home
    client.post("/auth/logout")
    login(client, w.company)  # the enterprise sees its statement and its account says so
    assert client.get(f"/documents/{stmt.document_id}/download").status_code == 200
    page = client.get(f"/accounts/{w.ent.uscc}?year={YEAR}").get_data(as_text=True)
    assert "经第三方核查" in page and f"/documents/{stmt.document_id}/verify" in page
    assert db.session.get(Statement, stmt.id).report_instance_id == report.id


def test_api_records_evidence_with_chinese_field_errors(vworld, client):
    w = vworld
    report = w.report()
    v, inst = w.verification(report)
    inst = w.do(inst, "assign_body", w.reviewer, {"body_code": "VB-A"})
    inst = w.do(inst, "accept_assignment", w.lead, {"decision": "accept", "team": ""})
    w.do(
        inst,
        "plan",
        w.lead,
        {
            "level_of_assurance": "limited",
            "materiality_pct": 5,
            "risk_combustion": "low",
            "risk_process": "low",
            "risk_electricity": "low",
            "risk_heat": "low",
        },
    )
    headers = api_token(client, w.lead)
    r = client.post(
        f"/api/v1/verifications/{v.id}/checks",
        headers=headers,
        json={"source": "coal", "month": 13, "status": "finding"},
    )
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"source", "month", "note"}
    r = client.post(
        f"/api/v1/verifications/{v.id}/checks",
        headers=headers,
        json={"source": "combustion", "month": 1, "status": "checked"},
    )
    assert r.status_code == 201
    body = client.get(f"/api/v1/verifications/{v.id}", headers=headers).get_json()
    assert body["checks"] == [
        {"source": "combustion", "month": 1, "status": "checked", "note": None}
    ]
    assert body["sampling"]["electricity"]["sampled"] is True
    # a verifier of the body who is not on the team is refused (and audited)
    r = client.post(
        f"/api/v1/verifications/{v.id}/checks",
        headers=api_token(client, w.checker),
        json={"source": "combustion", "month": 2, "status": "checked"},
    )
    assert r.status_code == 403
    from sqlalchemy import select

    from app.audit.models import AuditRecord

    assert db.session.scalars(
        select(AuditRecord).where(AuditRecord.action == "verification.refused")
    ).all()


def test_task_pages_show_the_verification_and_the_statement_at_final_review(vworld, client):
    from tests.conftest import enrol_totp

    w = vworld
    report, v, stmt = run_to_statement(w)
    task = w.task(report, "final_review")
    enrol_totp(w.approver)
    login(client, w.approver)
    page = client.get(f"/workflow/tasks/{task.id}").get_data(as_text=True)
    assert 'id="verification-result"' in page and "无保留意见" in page
    assert f"/documents/{stmt.document_id}/verify" in page
    client.post("/auth/logout")
    assert w.do(report, "final_review", w.approver, {"decision": "approve"}).status == "completed"
    second = w.report()  # a new case of the same enterprise-year, waiting at its plan
    v2, inst2 = w.verification(second)
    from app.verification.models import BodyConflict

    db.session.add(BodyConflict(body_code="VB-B", enterprise_uscc=w.ent.uscc, reason="咨询"))
    commit()
    enrol_totp(w.reviewer)
    login(client, w.reviewer)  # the government sees which bodies it may pick, and why not
    page = client.get(f"/workflow/tasks/{w.task(inst2, 'assign_body').id}").get_data(as_text=True)
    assert 'id="candidates"' in page and "利益冲突" in page and "可指派" in page
    client.post("/auth/logout")
    inst2 = w.do(inst2, "assign_body", w.reviewer, {"body_code": "VB-A"})
    w.do(inst2, "accept_assignment", w.lead, {"decision": "accept", "team": ""})
    login(client, w.lead)
    page = client.get(f"/workflow/tasks/{w.task(inst2, 'plan').id}").get_data(as_text=True)
    assert 'id="verification-context"' in page and "核查工作台" in page
    page = client.get(f"/verification/{v2.id}").get_data(as_text=True)
    assert 'id="before-after"' in page and "化石燃料燃烧" in page
