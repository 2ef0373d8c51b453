"""The carbon account (R-6.2.1): page and API, scope isolation, demo data on every page."""

from sqlalchemy import select

from app.accounting.models import CarbonCode
from app.demo import demo_enterprise_uscc, load_demo
from app.orgs.models import Enterprise
from tests.conftest import login


def _demo(db):
    load_demo(enterprises=15, months=3)
    db.session.commit()
    demo = db.session.scalar(select(Enterprise).where(Enterprise.uscc == demo_enterprise_uscc()))
    other = db.session.scalar(select(Enterprise).where(Enterprise.region_code == "330100"))
    return demo, other


def test_enterprise_sees_only_its_own_account(client, energy_ref, make_user, auth):
    db = energy_ref
    demo, other = _demo(db)
    user = make_user("enterprise", enterprise=demo.uscc)
    headers = auth(user)
    acc = db.session.scalar(select(CarbonCode.period_key).where(
        CarbonCode.enterprise_id == demo.id, CarbonCode.period_type == "month"))
    year, month = int(acc[:4]), int(acc[5:])
    r = client.get(f"/api/v1/enterprises/{demo.uscc}/carbon-account?year={year}&month={month}",
                   headers=headers)
    body = r.get_json()
    assert r.status_code == 200, body
    assert float(body["co2_total"]) > 0 and body["by_energy"][0]["item"] == "electricity"
    assert body["derivation"]["lines"] and body["derivation"]["lines"][0]["factor"]["source"]
    assert body["code"]["graded"] and body["code"]["verify_url"].startswith("http")
    assert body["tier"]["scheme_id"] == "zj_carbon_intensity_tiers"
    # another enterprise's account: 404 by API and by URL, never the record
    r = client.get(f"/api/v1/enterprises/{other.uscc}/carbon-account?year={year}",
                   headers=headers)
    assert r.status_code == 404 and "error" in r.get_json()
    assert client.get(f"/api/v1/enterprises/{other.uscc}/carbon-codes",
                      headers=headers).status_code == 404
    login(client, user)
    assert client.get("/accounts").status_code == 302          # straight to its own
    page = client.get(f"/accounts/{demo.uscc}?year={year}&month={month}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and demo.name in text and "核算过程" in text
    assert client.get(f"/accounts/{other.uscc}").status_code == 404
    code = db.session.scalar(select(CarbonCode).where(CarbonCode.enterprise_id == other.id))
    assert client.get(f"/accounts/{other.uscc}/codes/{code.id}.png").status_code == 404
    mine = db.session.scalar(select(CarbonCode).where(CarbonCode.enterprise_id == demo.id))
    png = client.get(f"/accounts/{demo.uscc}/codes/{mine.id}.png")
    assert png.status_code == 200 and png.data[:4] == b"\x89PNG"


def test_reviewer_sees_region_and_pages_render(client, energy_ref, make_user, auth):
    from tests.conftest import enrol_totp

    db = energy_ref
    demo, other = _demo(db)
    reviewer = make_user("reviewer", region="330500")
    headers = auth(reviewer)
    assert client.get(f"/api/v1/enterprises/{demo.uscc}/carbon-account",
                      headers=headers).status_code == 200
    assert client.get(f"/api/v1/enterprises/{other.uscc}/carbon-account",
                      headers=headers).status_code == 404
    r = client.get("/api/v1/accounting/indicators?level=region&code=330500&series=quarter",
                   headers=headers)
    assert r.status_code == 200 and len(r.get_json()) == 4
    r = client.get("/api/v1/accounting/benchmarks", headers=headers)
    assert r.status_code == 200
    enrol_totp(reviewer)
    login(client, reviewer)
    for url in ("/accounts", f"/accounts/{demo.uscc}", "/accounting/benchmarks",
                "/energy/records", "/energy/factors", "/energy/factors/heat_default", "/"):
        page = client.get(url)
        assert page.status_code == 200, url
    listing = client.get("/accounts").get_data(as_text=True)
    assert demo.name in listing and other.name not in listing


def test_demo_is_idempotent_and_admin_sees_all(client, energy_ref, make_user, auth):
    db = energy_ref
    _demo(db)
    n = db.session.query(CarbonCode).count()
    load_demo(enterprises=15, months=3)
    db.session.commit()
    assert db.session.query(CarbonCode).count() == n
    admin = make_user("admin")
    r = client.get("/api/v1/accounting/indicators?level=region&code=330000&period=2026",
                   headers=auth(admin))
    assert r.status_code == 200 and r.get_json()["enterprises"] >= 15
