"""`cecp demo` gives one active organisation of each type with its account; the demo bank
sees the demo enterprise (which consented) and no other."""

from __future__ import annotations

from sqlalchemy import func, select

from app.onboarding.models import Application, Consent


def test_demo_organisations_accounts_and_consent(app, db, client):
    from app.cli import cli
    from app.demo import demo_enterprise_uscc
    from app.orgs.models import Enterprise

    runner = app.test_cli_runner()
    for _ in range(2):  # idempotent
        r = runner.invoke(cli, ["demo", "--enterprises", "3", "--months", "2"])
        assert r.exit_code == 0, r.output
    assert db.session.scalar(select(func.count()).select_from(Application)) == 4
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 1
    assert {a.kind for a in db.session.scalars(select(Application))} == {
        "research", "exchange", "public", "bank"}
    password = app.config["CECP_DEMO_PASSWORD"]
    r = client.post("/api/v1/auth/token", json={"email": "bank@demo.cecp",
                                                "password": password})
    assert r.status_code == 200, r.get_json()
    h = {"Authentication-Token": r.get_json()["token"]}
    items = client.get("/api/v1/onboarding/bank/enterprises", headers=h).get_json()["items"]
    assert [i["uscc"] for i in items] == [demo_enterprise_uscc()]
    other = db.session.scalar(select(Enterprise.uscc).where(
        Enterprise.uscc != demo_enterprise_uscc()).limit(1))
    assert client.get(f"/api/v1/onboarding/bank/enterprises/{other}/grade",
                      headers=h).status_code == 404
    assert client.get(f"/api/v1/onboarding/bank/enterprises/{demo_enterprise_uscc()}/grade",
                      headers=h).status_code == 200
    for email in ("research@demo.cecp", "exchange@demo.cecp", "institution@demo.cecp"):
        r = client.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert r.status_code == 200, (email, r.get_json())
        h = {"Authentication-Token": r.get_json()["token"]}
        org = client.get("/api/v1/onboarding/organisation", headers=h)
        assert org.status_code == 200 and org.get_json()["status"] == "active"
