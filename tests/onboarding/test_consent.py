"""Bank consent: time-limited, revocable, every read audited and listed to the enterprise;
a bank never sees a non-consenting enterprise (404), nor one after revocation or expiry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.accounting.models import CarbonCode
from app.audit.models import AuditRecord
from app.identity.models import User
from app.onboarding.models import Consent
from app.orgs.models import Enterprise
from app.refdata.uscc import make_uscc
from tests.conftest import api_token


@pytest.fixture()
def world(reference, make_user, onboard, client):
    """Two enterprises (one user each), two onboarded banks (a member token each)."""
    ents = []
    for n in (1, 2):
        e = Enterprise(uscc=make_uscc(f"9133050070000010{n}"), name=f"授权测试企业{n}",
                       region_code="330500")
        reference.session.add(e)
        ents.append(e)
    reference.session.flush()
    reference.session.add(CarbonCode(
        enterprise_id=ents[0].id, period_type="year", period_key="2025", year=2025,
        scheme_id="demo", scheme_version="1", basis="K", area_code="330500",
        co2=Decimal("1000"), graded=True, grade=2, grade_label="二级", is_current=True,
        method="row"))
    reference.session.commit()
    ent_headers = [auth_for(client, make_user("enterprise", enterprise=e.uscc)) for e in ents]
    banks = []
    for _ in (1, 2):
        org, email, pw = onboard(kind="bank")
        user = reference.session.scalar(select(User).where(User.email == email))
        banks.append((org, api_token(client, user, password=pw)))
    return ents, ent_headers, banks


def auth_for(client, user):
    return api_token(client, user)


def test_bank_reads_only_with_live_consent_and_reads_are_listed(client, reference, world):
    (e1, e2), (h1, h2), ((bank_a, hb_a), (bank_b, hb_b)) = world
    grade = f"/api/v1/onboarding/bank/enterprises/{e1.uscc}/grade"
    assert client.get(grade, headers=hb_a).status_code == 404  # no consent yet
    banks = client.get("/api/v1/onboarding/banks", headers=h1).get_json()["items"]
    assert {b["code"] for b in banks} == {bank_a["uscc"], bank_b["uscc"]}
    # bad input names the field; another enterprise's code is not found
    r = client.post("/api/v1/onboarding/consents",
                    json={"uscc": e1.uscc, "bank": bank_a["uscc"], "days": 0}, headers=h1)
    assert r.status_code == 422 and "days" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/onboarding/consents",
                    json={"uscc": e1.uscc, "bank": "nope", "days": 30}, headers=h1)
    assert r.status_code == 422 and "bank" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/onboarding/consents",
                    json={"uscc": e2.uscc, "bank": bank_a["uscc"], "days": 30}, headers=h1)
    assert r.status_code == 404
    assert client.post("/api/v1/onboarding/consents",
                       json={"uscc": e1.uscc, "bank": bank_a["uscc"], "days": 30},
                       headers=hb_a).status_code == 403  # a bank cannot grant itself
    r = client.post("/api/v1/onboarding/consents",
                    json={"uscc": e1.uscc, "bank": bank_a["uscc"], "days": 30}, headers=h1)
    assert r.status_code == 201 and r.get_json()["state"] == "active"
    uid = r.get_json()["id"]
    # bank A sees e1 only; bank B sees nothing
    items = client.get("/api/v1/onboarding/bank/enterprises", headers=hb_a).get_json()["items"]
    assert [i["uscc"] for i in items] == [e1.uscc]
    assert client.get("/api/v1/onboarding/bank/enterprises",
                      headers=hb_b).get_json()["items"] == []
    r = client.get(grade, headers=hb_a)
    assert r.status_code == 200 and r.get_json()["grades"][0]["grade_label"] == "二级"
    assert client.get(grade, headers=hb_b).status_code == 404
    assert client.get(f"/api/v1/onboarding/bank/enterprises/{e2.uscc}/grade",
                      headers=hb_a).status_code == 404
    # the enterprise sees who looked; the other enterprise sees no consents at all
    mine = client.get("/api/v1/onboarding/consents", headers=h1).get_json()["items"]
    assert len(mine) == 1 and len(mine[0]["reads"]) == 1 and mine[0]["reads"][0]["by"]
    assert client.get("/api/v1/onboarding/consents", headers=h2).get_json()["items"] == []
    assert client.post(f"/api/v1/onboarding/consents/{uid}/revoke",
                       headers=h2).status_code == 404
    assert reference.session.scalar(select(AuditRecord).where(
        AuditRecord.action == "consent.read")) is not None
    # revocation: not found on the very next read
    r = client.post(f"/api/v1/onboarding/consents/{uid}/revoke", headers=h1)
    assert r.status_code == 200 and r.get_json()["state"] == "revoked"
    assert client.get(grade, headers=hb_a).status_code == 404
    assert client.get("/api/v1/onboarding/bank/enterprises",
                      headers=hb_a).get_json()["items"] == []
    assert reference.session.scalar(select(AuditRecord).where(
        AuditRecord.action == "consent.revoke")) is not None


def test_consent_expiry_hides_the_enterprise(client, reference, world):
    (e1, _), (h1, _), ((bank_a, hb_a), _) = world
    r = client.post("/api/v1/onboarding/consents",
                    json={"uscc": e1.uscc, "bank": bank_a["uscc"], "days": 1}, headers=h1)
    assert r.status_code == 201
    grade = f"/api/v1/onboarding/bank/enterprises/{e1.uscc}/grade"
    assert client.get(grade, headers=hb_a).status_code == 200
    c = reference.session.scalar(select(Consent))
    c.expires_at = c.granted_at - timedelta(seconds=1)
    reference.session.commit()
    assert client.get(grade, headers=hb_a).status_code == 404
    assert client.get("/api/v1/onboarding/bank/enterprises",
                      headers=hb_a).get_json()["items"] == []
    mine = client.get("/api/v1/onboarding/consents", headers=h1).get_json()["items"]
    assert mine[0]["state"] == "expired"


def test_non_bank_members_cannot_use_the_bank_side(client, reference, world, onboard):
    (e1, _), (h1, _), ((bank_a, _), _) = world
    client.post("/api/v1/onboarding/consents",
                json={"uscc": e1.uscc, "bank": bank_a["uscc"], "days": 30}, headers=h1)
    org, email, pw = onboard(kind="research")
    research = api_token(client, reference.session.scalar(
        select(User).where(User.email == email)), password=pw)
    for h in (research, h1):
        assert client.get("/api/v1/onboarding/bank/enterprises", headers=h).status_code == 403
        assert client.get(f"/api/v1/onboarding/bank/enterprises/{e1.uscc}/grade",
                          headers=h).status_code == 403


def test_consent_pages_grant_read_list_revoke(client, reference, world, make_user, app):
    from tests.conftest import login

    (e1, e2), _, ((bank_a, _), _) = world
    ent_user = make_user("enterprise", enterprise=e1.uscc)
    login(client, ent_user)
    html = client.get("/onboarding/consents").get_data(as_text=True)
    assert "尚未授权任何银行" in html and bank_a["name"] in html and e2.name not in html
    r = client.post("/onboarding/consents", data={"uscc": e1.uscc, "bank": bank_a["uscc"],
                                                  "days": "abc"})
    assert r.status_code == 422 and 'data-field="days"' in r.get_data(as_text=True)
    r = client.post("/onboarding/consents", data={"uscc": e2.uscc, "bank": bank_a["uscc"],
                                                  "days": "30"})
    assert r.status_code == 422 and 'data-field="uscc"' in r.get_data(as_text=True)
    assert reference.session.scalar(select(Consent)) is None  # another enterprise's code
    r = client.post("/onboarding/consents", data={"uscc": e1.uscc, "bank": bank_a["uscc"],
                                                  "days": "30"})  # every item unticked
    assert r.status_code == 422 and 'data-field="items"' in r.get_data(as_text=True)
    r = client.post("/onboarding/consents", data={"uscc": e1.uscc, "bank": bank_a["uscc"],
                                                  "days": "30", "items": "grade"})
    assert r.status_code == 302
    # the bank's page lists e1 and shows its grade; that read appears on the enterprise page
    bank_user = reference.session.scalar(select(User).where(
        User.email == bank_a["contact_email"]))
    banker = app.test_client()
    login(banker, bank_user, password="Org#Admin-Pass-2026x")
    html = banker.get("/onboarding/bank").get_data(as_text=True)
    assert e1.name in html and e2.name not in html
    r = banker.get(f"/onboarding/bank/{e1.uscc}")
    assert r.status_code == 200 and "二级" in r.get_data(as_text=True)
    assert banker.get(f"/onboarding/bank/{e2.uscc}").status_code == 404
    html = client.get("/onboarding/consents").get_data(as_text=True)
    assert bank_user.email in html and "有效" in html
    uid = reference.session.scalar(select(Consent.uid))
    assert client.post("/onboarding/consents", data={"revoke": uid}).status_code == 302
    assert banker.get(f"/onboarding/bank/{e1.uscc}").status_code == 404
    assert "已撤销" in client.get("/onboarding/consents").get_data(as_text=True)


def test_consent_covers_only_what_the_enterprise_chose(client, reference, world):
    """Grade only by default; the account summary only when chosen; the grade changes
    since the consent (a new code version with another grade) are listed to the bank."""
    from app.accounting.models import CarbonAccount
    from app.db import utcnow

    (e1, _), (h1, _), ((bank_a, hb_a), _) = world
    for m in (1, 2):
        reference.session.add(CarbonAccount(
            enterprise_id=e1.id, year=2025, month=m, period=202500 + m, region_code="330500",
            industry_code=None, energy_tce=Decimal("40"), co2_total=Decimal("100.5"),
            co2_combustion=Decimal("100.5"), co2_process=Decimal(0),
            co2_electricity=Decimal(0), co2_heat=Decimal(0),
            co2_electricity_exported=Decimal(0), co2_heat_exported=Decimal(0),
            co2_biomass=Decimal(0), electricity_mwh=Decimal(1), value_added=Decimal("50"),
            gross_output=Decimal("150"), version=1, is_current=True))
    reference.session.commit()
    base = f"/api/v1/onboarding/bank/enterprises/{e1.uscc}"
    r = client.post("/api/v1/onboarding/consents", headers=h1,
                    json={"uscc": e1.uscc, "bank": bank_a["uscc"], "days": 30,
                          "items": ["grade", "salary"]})
    assert r.status_code == 422 and "items" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/onboarding/consents", headers=h1,
                    json={"uscc": e1.uscc, "bank": bank_a["uscc"], "days": 30})
    assert r.status_code == 201 and r.get_json()["items"] == ["grade"]
    assert client.get(f"{base}/grade", headers=hb_a).status_code == 200
    assert client.get(f"{base}/summary", headers=hb_a).status_code == 404  # not chosen
    # the enterprise widens it; the bank reads the summary (2 months: 201 t / 100 万元)
    r = client.post("/api/v1/onboarding/consents", headers=h1,
                    json={"uscc": e1.uscc, "bank": bank_a["uscc"], "days": 30,
                          "items": ["summary", "grade"]})
    assert r.status_code == 201 and r.get_json()["items"] == ["grade", "summary"]
    summary = client.get(f"{base}/summary", headers=hb_a).get_json()
    [year] = summary["years"]
    assert (year["year"], year["months"]) == (2025, 2)
    assert Decimal(year["co2_t"]) == Decimal("201.0")
    assert year["intensity_t_per_10k_yuan"] == "2.010000"
    # a regrade after the consent: 二级 -> 三级 for 2025 is listed; nothing before it
    old = reference.session.scalar(select(CarbonCode).where(CarbonCode.enterprise_id == e1.id))
    old.is_current = False
    reference.session.add(CarbonCode(
        enterprise_id=e1.id, period_type="year", period_key="2025", year=2025,
        scheme_id="demo", scheme_version="1", basis="K", area_code="330500",
        co2=Decimal("1200"), graded=True, grade=3, grade_label="三级", is_current=True,
        method="row", issued_at=utcnow() + timedelta(seconds=1)))
    reference.session.commit()
    grade = client.get(f"{base}/grade", headers=hb_a).get_json()
    assert grade["grades"][0]["grade_label"] == "三级"
    assert [(c["period"], c["from"], c["to"]) for c in grade["changes_since_consent"]] == [
        ("2025", "二级", "三级")]
    # narrowing back to the grade ends the summary at once
    client.post("/api/v1/onboarding/consents", headers=h1,
                json={"uscc": e1.uscc, "bank": bank_a["uscc"], "days": 30, "items": ["grade"]})
    assert client.get(f"{base}/summary", headers=hb_a).status_code == 404
    reads = client.get("/api/v1/onboarding/consents", headers=h1).get_json()["items"][0]["reads"]
    assert {r["what"] for r in reads} == {"grade", "summary"}
