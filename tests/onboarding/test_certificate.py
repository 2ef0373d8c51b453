"""The signed carbon efficiency grade certificate (碳效等级证明): the enterprise and a bank
with its consent get it; no consent → 403 audited; the other bank cannot; the PDF text shows
the grade; the SM2 signature verifies (document store and OpenSSL); a changed grade makes a
new version that supersedes the old."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.accounting.models import CarbonCode
from app.audit.models import AuditRecord
from app.identity.models import User
from app.orgs.models import Enterprise
from app.refdata.uscc import make_uscc
from tests.conftest import api_token

K = "zj_carbon_efficiency_k"


def _code(session, ent, *, grade: int, label: str, co2: str) -> CarbonCode:
    code = CarbonCode(
        enterprise_id=ent.id, period_type="year", period_key="2025", year=2025,
        scheme_id=K, scheme_version="1.0", basis="K", area_code="330500",
        industry_code="30", co2=Decimal(co2), value_added=Decimal("2000"),
        intensity=Decimal(co2) / Decimal("2000"), benchmark_intensity=Decimal("0.6"),
        k_value=Decimal(co2) / Decimal("2000") / Decimal("0.6"), peers=12, graded=True,
        grade=grade, grade_label=label, colour="#7BC96F", is_current=True, method="row")
    session.add(code)
    session.commit()
    return code


@pytest.fixture()
def world(reference, make_user, onboard, client):
    e = Enterprise(uscc=make_uscc("91330500700000301"), name="证明测试企业",
                   region_code="330500", industry_code="30")
    other = Enterprise(uscc=make_uscc("91330500700000302"), name="未授权企业",
                       region_code="330500", industry_code="30")
    reference.session.add_all([e, other])
    reference.session.flush()
    _code(reference.session, e, grade=2, label="二级", co2="800")
    _code(reference.session, other, grade=3, label="三级", co2="1200")
    company = api_token(client, make_user("enterprise", enterprise=e.uscc))
    banks = []
    for _ in (1, 2):
        org, email, pw = onboard(kind="bank")
        user = reference.session.scalar(select(User).where(User.email == email))
        banks.append((org, api_token(client, user, password=pw)))
    return e, other, company, banks


def _text(pdf: bytes, tmp_path) -> str:
    (tmp_path / "c.pdf").write_bytes(pdf)
    return subprocess.run(["pdftotext", str(tmp_path / "c.pdf"), "-"], capture_output=True,
                          timeout=60, check=True).stdout.decode()


def _openssl_ok(tmp_path, pem: str, pdf: bytes, sig: bytes) -> bool:
    exe = shutil.which("openssl")
    if exe is None:
        pytest.skip("openssl CLI not installed")
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "d.pdf").write_bytes(pdf)
    (tmp_path / "s.der").write_bytes(sig)
    r = subprocess.run([exe, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
                        "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
                        "-in", str(tmp_path / "d.pdf"), "-sigfile", str(tmp_path / "s.der")],
                       capture_output=True, timeout=60)
    return r.returncode == 0 and b"Signature Verified Successfully" in r.stdout


def test_bank_needs_consent_other_bank_cannot_pdf_and_signature(client, reference, world,
                                                                tmp_path):
    e, other, company, ((bank_a, hb_a), (bank_b, hb_b)) = world
    url = f"/api/v1/onboarding/bank/enterprises/{e.uscc}/grade-certificate"
    r = client.post(url, headers=hb_a)  # no consent yet
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "no_consent"
    refusal = reference.session.scalar(select(AuditRecord).where(
        AuditRecord.action == "consent.refused"))
    assert refusal is not None
    assert client.post("/api/v1/onboarding/consents", json={
        "uscc": e.uscc, "bank": bank_a["uscc"], "days": 30, "items": ["grade"]},
        headers=company).status_code == 201
    r = client.post(url, headers=hb_a)
    assert r.status_code == 200, r.get_json()
    meta = r.get_json()
    assert meta["version"] == 1 and meta["verify_url"].endswith(
        f"/documents/{meta['document_id']}/verify")
    # the other bank, and bank A for a non-consenting enterprise: 403
    assert client.post(url, headers=hb_b).status_code == 403
    assert client.post(f"/api/v1/onboarding/bank/enterprises/{other.uscc}/grade-certificate",
                       headers=hb_a).status_code == 403
    assert client.get(url + "/pdf", headers=hb_b).status_code == 403
    pdf = client.get(url + "/pdf", headers=hb_a).data
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf, tmp_path)
    for needle in ("碳效等级证明", "证明测试企业", e.uscc, "二级", "浅绿", "800.00 tCO2",
                   "2,000.00 万元", "0.4000 tCO2/万元", "0.6000", "可比企业", "北京时间",
                   "平台 SM2 私钥签名", meta["document_id"][:20]):
        assert needle in text, needle
    # the same figures: the same document; the enterprise reads who looked
    assert client.post(url, headers=hb_a).get_json()["document_id"] == meta["document_id"]
    reads = client.get("/api/v1/onboarding/consents", headers=company).get_json()["items"][0]
    assert {r["what"] for r in reads["reads"]} == {"certificate"}
    # public verification and OpenSSL with the published platform key
    v = client.get(f"/api/v1/documents/{meta['document_id']}/verify").get_json()
    assert v["valid"] is True
    assert "验证通过" in client.get(f"/documents/{meta['document_id']}/verify").get_data(
        as_text=True)
    pem = client.get(f"/api/v1/keys/{meta['signer_key_id']}.pem").get_data(as_text=True)
    sig = client.get(f"/api/v1/documents/{meta['document_id']}/signature",
                     headers=company).data
    assert _openssl_ok(tmp_path, pem, pdf, sig)
    flipped = bytearray(pdf)
    flipped[len(flipped) // 2] ^= 0x01
    assert not _openssl_ok(tmp_path, pem, bytes(flipped), sig)


def test_enterprise_gets_its_own_and_a_new_grade_supersedes(client, reference, world,
                                                             make_user, tmp_path):
    e, other, company, _ = world
    url = f"/api/v1/enterprises/{e.uscc}/grade-certificate"
    first = client.post(url, headers=company).get_json()
    assert first["version"] == 1
    assert client.post(f"/api/v1/enterprises/{other.uscc}/grade-certificate",
                       headers=company).status_code == 404  # not its enterprise
    assert client.post(url + "?year=1800", headers=company).status_code == 400
    assert client.post(url + "?year=2024", headers=company).status_code == 404  # no code
    # the grade changes: the code is re-issued, a new version supersedes the old one
    old = reference.session.scalar(select(CarbonCode).where(
        CarbonCode.enterprise_id == e.id))
    old.is_current = False
    reference.session.commit()
    _code(reference.session, e, grade=4, label="四级", co2="1500")
    second = client.post(url, headers=company).get_json()
    assert second["version"] == 2 and second["document_id"] != first["document_id"]
    assert "四级" in _text(client.get(url + "/pdf", headers=company).data, tmp_path)
    old_v = client.get(f"/api/v1/documents/{first['document_id']}/verify").get_json()
    assert old_v["status"] == "superseded"


def test_pages_enterprise_button_and_bank_workspace(client, reference, world, make_user):
    from tests.conftest import login

    e, _, company, ((bank_a, _), _) = world
    user = make_user("enterprise", enterprise=e.uscc)
    login(client, user)
    html = client.get(f"/accounts/{e.uscc}").get_data(as_text=True)
    assert "btn-certificate" in html
    r = client.post(f"/onboarding/certificate/{e.uscc}", data={"year": "2025"})
    assert r.status_code == 302 and "/documents/" in r.headers["Location"]
    client.post("/auth/logout")
    banker = reference.session.scalar(select(User).where(
        User.email == bank_a["contact_email"]))
    login(client, banker, password="Org#Admin-Pass-2026x")
    assert client.post(f"/onboarding/bank/{e.uscc}/certificate").status_code == 403
    n = reference.session.query(AuditRecord).filter_by(action="consent.refused").count()
    assert n == 1
    client.post("/auth/logout")
    assert client.post("/api/v1/onboarding/consents", json={
        "uscc": e.uscc, "bank": bank_a["uscc"], "days": 7}, headers=company).status_code == 201
    login(client, banker, password="Org#Admin-Pass-2026x")
    assert "btn-certificate" in client.get(f"/onboarding/bank/{e.uscc}").get_data(as_text=True)
    r = client.post(f"/onboarding/bank/{e.uscc}/certificate")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF-")
