"""The document store: issue, supersede, verify three ways (service / API / page / OpenSSL),
tampering and unknown ids, organisation keys certified by the platform, and scope."""

from __future__ import annotations

from sqlalchemy import func, select, text

from app.audit.models import AuditRecord
from app.crypto import signing
from app.documents import service
from app.documents.models import Document
from app.extensions import db
from tests.conftest import login
from tests.documents.conftest import tiny_pdf


def _issue(ent, *, pdf: bytes | None = None, period: str = "2025", signer=None):
    doc = service.create(
        kind="carbon_report",
        subject=service.enterprise_subject(ent),
        period=period,
        pdf=pdf or tiny_pdf(f"{ent.name} {period}"),
        signer=signer,
        title=f"{ent.name} {period} 温室气体排放报告",
    )
    db.session.commit()
    return doc


def _openssl_verify(openssl, tmp_path, pem: str, pdf: bytes, sig: bytes) -> bool:
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "doc.pdf").write_bytes(pdf)
    (tmp_path / "sig.der").write_bytes(sig)
    r = openssl(
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        str(tmp_path / "pub.pem"),
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        "distid:1234567812345678",
        "-in",
        str(tmp_path / "doc.pdf"),
        "-sigfile",
        str(tmp_path / "sig.der"),
    )
    return r.returncode == 0 and b"Signature Verified Successfully" in r.stdout


def test_issue_verify_three_ways_and_openssl_flipped_byte(
    client, two_enterprises, make_user, auth, openssl, tmp_path
):
    a, _ = two_enterprises
    doc = _issue(a)
    assert doc.version == 1 and doc.signer_key_id == "platform" and len(doc.sm3) == 64
    assert service.verify(document_id=doc.id)["status"] == "valid"

    # the API, as the enterprise's own user
    user = make_user("enterprise", enterprise=a.uscc)
    headers = auth(user)
    meta = client.get(f"/api/v1/documents/{doc.id}", headers=headers).get_json()
    assert meta["status"] == "valid" and meta["subject"]["id"] == a.uscc
    pdf = client.get(f"/api/v1/documents/{doc.id}/pdf", headers=headers).data
    sig = client.get(f"/api/v1/documents/{doc.id}/signature", headers=headers).data
    pem = client.get("/api/v1/keys/platform.pem").get_data(as_text=True)  # public
    assert pdf.startswith(b"%PDF-") and pem.startswith("-----BEGIN PUBLIC KEY-----")

    # public verification: API and page, no login
    anon = client.application.test_client()
    body = anon.get(f"/api/v1/documents/{doc.id}/verify").get_json()
    assert body["valid"] is True and body["status"] == "valid" and body["sm3"] == doc.sm3
    page = anon.get(f"/documents/{doc.id}/verify").get_data(as_text=True)
    assert "验证通过" in page and a.name in page and doc.sm3 in page

    # plain OpenSSL with the published key; one flipped byte fails
    assert _openssl_verify(openssl, tmp_path, pem, pdf, sig)
    flipped = bytearray(pdf)
    flipped[len(flipped) // 2] ^= 0x01
    assert not _openssl_verify(openssl, tmp_path, pem, bytes(flipped), sig)


def test_new_version_supersedes_and_old_stays_readable(client, two_enterprises):
    a, _ = two_enterprises
    first = _issue(a)
    second = _issue(a, pdf=tiny_pdf("second version"))
    assert second.version == 2
    db.session.expire_all()
    assert db.session.get(Document, first.id).superseded_by == second.id
    old = service.verify(document_id=first.id)
    assert old["valid"] is True and old["status"] == "superseded"
    assert old["superseded_by"] == second.id
    assert service.verify(document_id=second.id)["status"] == "valid"
    page = client.get(f"/documents/{first.id}/verify").get_data(as_text=True)
    assert "已被新版本取代" in page and second.id in page
    # another period is a separate series
    assert _issue(a, period="2024").version == 1


def test_tampered_rows_and_unknown_ids_are_invalid(client, two_enterprises):
    a, _ = two_enterprises
    for ident in ("0" * 32, "nope", "x" * 200, "../../etc"):
        result = service.verify(document_id=ident)
        assert result == {"id": ident, "valid": False, "status": "invalid", "reason": "文档不存在"}
    for ident in ("0" * 32, "nope", "x" * 200):
        assert client.get(f"/api/v1/documents/{ident}/verify").get_json()["valid"] is False
        assert "验证失败" in client.get(f"/documents/{ident}/verify").get_data(as_text=True)

    def tampered(sql: str, **params) -> dict:
        doc = _issue(a, period=f"T{tampered.n}")
        tampered.n += 1
        db.session.execute(text(sql), {"id": doc.id, **params})
        db.session.commit()
        db.session.expire_all()
        return service.verify(document_id=doc.id)

    tampered.n = 0

    pdf = tiny_pdf("forged")
    # PDF replaced (digests no longer match)
    assert tampered("UPDATE document SET pdf = :p WHERE id = :id", p=pdf)["status"] == "invalid"
    # PDF and both digests replaced: the signature fails
    import hashlib

    from app.crypto.hashing import sm3

    r = tampered(
        "UPDATE document SET pdf = :p, sha256 = :h, sm3 = :s, size = :n WHERE id = :id",
        p=pdf,
        h=hashlib.sha256(pdf).hexdigest(),
        s=sm3(pdf).hex(),
        n=len(pdf),
    )
    assert r["valid"] is False and r["reason"] == "文档签名无效"
    # the facts shown on the page edited: the meta signature fails
    r = tampered("UPDATE document SET subject_name = '别的企业' WHERE id = :id")
    assert r["valid"] is False and r["reason"] == "文档登记信息签名无效"
    # a signature from another key id, or an unknown key id
    r = tampered("UPDATE document SET signer_key_id = 'nobody-1' WHERE id = :id")
    assert r["valid"] is False
    # a superseding pointer forged onto a valid document does not make it superseded, and
    # a fake "newer version" without a signature does not supersede it
    doc = _issue(a, period="2030")
    db.session.execute(
        text(
            "INSERT INTO document (id, kind, status, subject_type, subject_id,"
            " subject_name, period, version, title, issuer, created_at)"
            " VALUES ('f' || repeat('0', 31), 'carbon_report', 'ready',"
            " 'enterprise', :u, 'x', '2030', 9, 't', 'i', now())"
        ),
        {"u": a.uscc},
    )
    db.session.commit()
    assert service.verify(document_id=doc.id)["status"] == "valid"
    assert service.verify(document_id="f" + "0" * 31)["status"] == "invalid"


def test_pending_document_is_not_valid(two_enterprises):
    a, _ = two_enterprises
    doc = Document(
        id=service.new_id(),
        kind="carbon_report",
        status="pending",
        subject_type="enterprise",
        subject_id=a.uscc,
        period="2025",
    )
    db.session.add(doc)
    db.session.commit()
    assert service.verify(document_id=doc.id) == {
        "id": doc.id,
        "valid": False,
        "status": "invalid",
        "reason": "文档尚未签发",
    }


def test_organisation_key_certified_by_platform(client, two_enterprises, openssl, tmp_path):
    a, _ = two_enterprises
    signer = signing.create_org_key(owner_type="verification_body", owner_id="VB330001")
    db.session.commit()
    assert signing.org_key(owner_type="verification_body", owner_id="VB330001") == signer
    assert signing.certificate_valid(signer.key_id)
    info = client.get(f"/api/v1/keys/{signer.key_id}").get_json()
    assert info["owner_id"] == "VB330001" and info["certified"] is True
    assert signing.read_token(info["certificate"])["key_id"] == signer.key_id

    doc = service.create(
        kind="verification_statement",
        subject=service.enterprise_subject(a, verification_body="VB330001"),
        period="2025",
        pdf=tiny_pdf("statement"),
        signer=signer,
        issuer="某核查机构",
    )
    db.session.commit()
    assert doc.signer_key_id == signer.key_id
    assert service.verify(document_id=doc.id)["status"] == "valid"
    pem = client.get(f"/api/v1/keys/{signer.key_id}.pem").get_data(as_text=True)
    assert pem != client.get("/api/v1/keys/platform.pem").get_data(as_text=True)
    assert _openssl_verify(openssl, tmp_path, pem, doc.pdf, doc.signature)

    # a key whose public key was swapped in the database loses its certificate
    other = signing.create_org_key(owner_type="verification_body", owner_id="VB330002")
    db.session.commit()
    db.session.execute(
        text("UPDATE platform_key SET certificate = :c WHERE name = :n"),
        {"c": signing.key_info(other.key_id)["certificate"], "n": signer.key_id},
    )
    db.session.commit()
    db.session.expire_all()
    assert not signing.certificate_valid(signer.key_id)
    assert service.verify(document_id=doc.id)["valid"] is False
    # revoked keys stop signing, but their documents stay checkable
    assert signing.revoke_key(other.key_id)
    db.session.commit()
    import pytest

    with pytest.raises(LookupError):
        signing.get_signer(other.key_id)


def test_scope_other_enterprise_gets_404_and_is_audited(client, two_enterprises, make_user, auth):
    a, b = two_enterprises
    doc_b = _issue(b)
    doc_a = _issue(a)
    user_a = make_user("enterprise", enterprise=a.uscc)
    headers = auth(user_a)
    before = db.session.scalar(
        select(func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.action == "document.refused")
    )
    for path in (
        f"/api/v1/documents/{doc_b.id}",
        f"/api/v1/documents/{doc_b.id}/pdf",
        f"/api/v1/documents/{doc_b.id}/signature",
        f"/api/v1/enterprises/{b.uscc}/reports",
    ):
        r = client.get(path, headers=headers)
        assert r.status_code == 404, path
        assert r.get_json()["error"]["code"] == "not_found"
    after = db.session.scalar(
        select(func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.action == "document.refused")
    )
    assert after - before == 4
    listing = client.get(
        f"/api/v1/enterprises/{a.uscc}/reports?year=2025", headers=headers
    ).get_json()
    assert [d["id"] for d in listing["items"]] == [doc_a.id]
    r = client.get(f"/api/v1/enterprises/{a.uscc}/reports?year=20x5", headers=headers)
    assert r.status_code == 400 and "year" in r.get_json()["error"]["fields"]
    # the reviewer of city B sees B's documents, not A's
    reviewer_b = make_user("reviewer", region="330100")
    hb = auth(reviewer_b)
    assert client.get(f"/api/v1/documents/{doc_b.id}", headers=hb).status_code == 200
    assert client.get(f"/api/v1/documents/{doc_a.id}", headers=hb).status_code == 404
    # pages: the list shows only the caller's documents; another's page is 404
    login(client, user_a)
    page = client.get("/documents/").get_data(as_text=True)
    assert doc_a.id in page and doc_b.id not in page
    assert client.get(f"/documents/{doc_b.id}").status_code == 404
    assert client.get(f"/documents/{doc_b.id}/download").status_code == 404
    r = client.get(f"/documents/{doc_a.id}/download")
    assert r.status_code == 200 and r.data.startswith(b"%PDF-")
