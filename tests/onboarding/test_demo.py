"""`cecp demo` gives one active organisation of each type with its account; the demo bank
sees the demo enterprise (which consented) and no other."""

from __future__ import annotations

from sqlalchemy import func, select

from app.identity.models import User
from app.onboarding.models import Application, Consent
from tests.conftest import api_token


def test_demo_organisations_accounts_and_consent(app, db, client):
    from app.cli import cli
    from app.demo import demo_enterprise_uscc
    from app.orgs.models import Enterprise

    runner = app.test_cli_runner()
    for _ in range(2):  # idempotent
        r = runner.invoke(cli, ["demo", "--enterprises", "3", "--months", "2"])
        assert r.exit_code == 0, r.output
    assert db.session.scalar(select(func.count()).select_from(Application)) == 4
    # the demo bank and the demo exchange (grade only) hold the demo enterprise's consent
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 2
    assert {a.kind for a in db.session.scalars(select(Application))} == {
        "research", "exchange", "public", "bank"}
    # each went through its institution_onboarding case, which ended with the activation
    from app.workflow.models import ProcessInstance

    for a in db.session.scalars(select(Application)):
        inst = db.session.get(ProcessInstance, a.case_id)
        assert a.status == "active" and inst.process_key == "institution_onboarding"
        assert inst.status == "completed", inst.status
    password = app.config["CECP_DEMO_PASSWORD"]
    # each demo organisation's account is its administrator: TOTP is required, as for
    # every administrator (api_token enrols it as the web page would)
    accounts = {u.email: u for u in db.session.scalars(select(User).where(
        User.email.like("%@demo.cecp")))}
    assert accounts["bank@demo.cecp"].requires_two_factor()
    h = api_token(client, accounts["bank@demo.cecp"], password=password)
    items = client.get("/api/v1/onboarding/bank/enterprises", headers=h).get_json()["items"]
    assert [i["uscc"] for i in items] == [demo_enterprise_uscc()]
    other = db.session.scalar(select(Enterprise.uscc).where(
        Enterprise.uscc != demo_enterprise_uscc()).limit(1))
    assert client.get(f"/api/v1/onboarding/bank/enterprises/{other}/grade",
                      headers=h).status_code == 404
    assert client.get(f"/api/v1/onboarding/bank/enterprises/{demo_enterprise_uscc()}/grade",
                      headers=h).status_code == 200
    for email in ("research@demo.cecp", "exchange@demo.cecp", "institution@demo.cecp"):
        h = api_token(client, accounts[email], password=password)
        org = client.get("/api/v1/onboarding/organisation", headers=h)
        assert org.status_code == 200 and org.get_json()["status"] == "active"


def test_demo_exchange_has_a_key_a_disabled_webhook_and_a_consent(app, db, client):
    from app.cli import cli
    from app.demo import demo_enterprise_uscc

    r = app.test_cli_runner().invoke(cli, ["demo", "--enterprises", "3", "--months", "2"])
    assert r.exit_code == 0, r.output
    assert "cecp_" not in r.output  # no key is printed
    user = db.session.scalar(select(User).where(User.email == "exchange@demo.cecp"))
    h = api_token(client, user, password=app.config["CECP_DEMO_PASSWORD"])
    keys = client.get("/api/v1/onboarding/exchange/clients", headers=h).get_json()["items"]
    assert [k["name"] for k in keys] == ["demo-feed"] and keys[0]["active"]
    hooks = client.get("/api/v1/onboarding/exchange/webhooks", headers=h).get_json()["items"]
    assert len(hooks) == 1 and hooks[0]["active"] is False
    items = client.get("/api/v1/onboarding/exchange/enterprises", headers=h).get_json()
    assert [i["uscc"] for i in items["items"]] == [demo_enterprise_uscc()]
    lots = client.get("/api/v1/onboarding/exchange/lots", headers=h).get_json()["items"]
    assert lots and all(x["held_t"] >= 0 for x in lots)
