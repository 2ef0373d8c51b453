"""The public application: no login, field-by-field errors, encrypted contact, audit, bounds."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from app.audit.models import AuditRecord
from app.onboarding.models import Application
from app.refdata.uscc import make_uscc
from tests.onboarding.conftest import application_body


def test_api_application_is_stored_encrypted_and_audited(client, reference):
    body = application_body(kind="bank", name="湖州测试银行")
    r = client.post("/api/v1/onboarding/applications", json=body)
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert out["status"] == "submitted" and out["status_label"] == "待审核"
    a = reference.session.scalar(select(Application).where(Application.uid == out["id"]))
    assert a.kind == "bank" and a.uscc == body["uscc"] and a.region_code == "330500"
    raw = reference.session.execute(text(
        "SELECT contact_name_enc, contact_phone_enc, contact_email_enc "
        "FROM onboarding_application WHERE id = :i"), {"i": a.id}).one()
    for value, plain in zip(raw, ("李研究", "0572-1234567", body["contact_email"]),
                            strict=True):
        assert value.startswith("sm4gcm:") and plain not in value
    assert (a.contact_name, a.contact_email) == ("李研究", body["contact_email"])
    rec = reference.session.scalar(select(AuditRecord).where(
        AuditRecord.action == "onboarding.apply"))
    assert rec.object_id == str(a.id) and json.loads(rec.summary)["uscc"] == body["uscc"]


def test_api_names_every_bad_field(client, reference):
    r = client.post("/api/v1/onboarding/applications", json={
        "kind": "casino", "name": "", "uscc": "91330500MA00000000",
        "contact_name": "x" * 51, "contact_phone": "abc", "contact_email": "nope",
        "intended_use": "短"})
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert set(err["fields"]) == {"kind", "name", "uscc", "contact_name", "contact_phone",
                                  "contact_email", "intended_use"}
    assert err["fields"]["uscc"] == "统一社会信用代码校验位错误"
    assert reference.session.scalar(select(Application)) is None


def test_api_bounds_and_shape(client, reference, app):
    assert client.post("/api/v1/onboarding/applications", data="x",
                       content_type="text/plain").status_code == 400
    big = application_body(intended_use="长" * 20000)
    r = client.post("/api/v1/onboarding/applications", json=big)
    assert r.status_code == 413 and "body" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/onboarding/applications",
                    json=application_body(name=["not", "text"]))
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["name"] == "机构名称必须是文本"
    # a USCC whose division code is unknown
    r = client.post("/api/v1/onboarding/applications",
                    json=application_body(uscc=make_uscc("91990000MA0000009")))
    assert r.status_code == 422 and "uscc" in r.get_json()["error"]["fields"]


def test_api_duplicate_and_rate_limit(client, reference, app):
    body = application_body()
    assert client.post("/api/v1/onboarding/applications", json=body).status_code == 201
    r = client.post("/api/v1/onboarding/applications", json=body)
    assert r.status_code == 409 and "uscc" in r.get_json()["error"]["fields"]
    old = app.config.get("CECP_ONBOARDING_RATE_PER_HOUR")
    app.config["CECP_ONBOARDING_RATE_PER_HOUR"] = 3
    try:
        codes = [client.post("/api/v1/onboarding/applications",
                             json=application_body()).status_code for _ in range(3)]
    finally:
        app.config["CECP_ONBOARDING_RATE_PER_HOUR"] = old if old is not None else 5
    assert codes == [201, 201, 429]
    assert reference.session.query(Application).count() == 3


def test_apply_page_public_with_chinese_field_errors(client, reference):
    r = client.get("/onboarding/apply")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "机构入驻申请" in html and 'name="uscc"' in html and "银行" in html
    r = client.post("/onboarding/apply", data={"kind": "exchange", "name": "示范交易所",
                                               "uscc": "123", "contact_name": "王"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'data-field="uscc"' in html and 'data-field="contact_email"' in html
    assert "请填写联系邮箱" in html and "示范交易所" in html  # input kept
    r = client.post("/onboarding/apply", data=application_body(kind="exchange"))
    assert r.status_code == 200 and "申请已提交" in r.get_data(as_text=True)
    assert reference.session.scalar(select(Application)).kind == "exchange"


def test_qualification_documents_encrypted_typed_by_content_and_admin_only(
        client, reference, make_user, app):
    """PDF/JPEG/PNG recognised by their first bytes (a renamed script is refused, a mislabelled
    PDF is served as PDF), stored SM4-GCM encrypted and bound to their row, read only by the
    platform administrator as a download, every read audited."""
    import io

    from app.onboarding.models import ApplicationDocument
    from tests.conftest import enrol_totp, login

    pdf = b"%PDF-1.7\n" + b"licence " * 500
    body = application_body(kind="research")
    r = client.post("/onboarding/apply", content_type="multipart/form-data", data={
        **body, "documents": [(io.BytesIO(b"<script>alert(1)</script>"), "licence.pdf")]})
    assert r.status_code == 422 and 'data-field="documents"' in r.get_data(as_text=True)
    assert reference.session.scalar(select(Application)) is None  # nothing half-written
    r = client.post("/onboarding/apply", content_type="multipart/form-data", data={
        **body, "documents": [(io.BytesIO(pdf), "营业执照.png"),
                              (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 64), "资质.png")]})
    assert r.status_code == 200, r.get_data(as_text=True)
    app_ = reference.session.scalar(select(Application))
    docs = reference.session.scalars(select(ApplicationDocument).order_by(
        ApplicationDocument.id)).all()
    assert [(d.filename, d.content_type) for d in docs] == [
        ("营业执照.pdf", "application/pdf"), ("资质.png", "image/png")]
    assert b"licence" not in docs[0].ciphertext  # encrypted at rest
    url = f"/onboarding/review/{app_.uid}/documents/{docs[0].uid}"
    # a reviewer of the government is not the platform administrator
    login(client, make_user("enterprise", enterprise=make_uscc("91330500000000009")))
    assert client.get(url).status_code == 403
    admin_client = app.test_client()
    admin = make_user("admin")
    enrol_totp(admin)
    login(admin_client, admin)
    page = admin_client.get(f"/onboarding/review/{app_.uid}").get_data(as_text=True)
    assert "营业执照.pdf" in page and "资质文件" in page
    r = admin_client.get(url)
    assert r.status_code == 200 and r.data == pdf and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # a ciphertext moved to another row does not decrypt
    docs[1].ciphertext = docs[0].ciphertext
    reference.session.commit()
    assert admin_client.get(f"/onboarding/review/{app_.uid}/documents/{docs[1].uid}"
                            ).status_code == 409
    assert admin_client.get(f"/onboarding/review/{app_.uid}/documents/nope").status_code == 404
    assert reference.session.scalar(select(AuditRecord).where(
        AuditRecord.action == "onboarding.document_read")) is not None
