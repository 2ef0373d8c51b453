"""An exchange's own API keys (6.5.2): created, listed and revoked by its administrator,
scoped to its organisation and to the scopes chosen; what they read (lots, holdings,
grades of consenting enterprises), confirmation needing its scope; suspension revokes them
all; isolation from other exchanges, banks, enterprises and research institutes."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.exchange.models import MachineClient
from app.onboarding.models import ConsentRead
from app.trading.models import Movement
from tests.conftest import api_token
from tests.onboarding.exchange_world import (
    PW,
    enterprise_with_lot,
    exchange_account,
    new_key,
    org_admin,
    transfer,
)

BASE = "/api/v1/onboarding/exchange"
ALL_SCOPES = ["lots.read", "holdings.read", "transfers.confirm", "grades.read"]


def test_keys_reads_confirmation_and_isolation(client, reference, onboard, make_user, auth):
    org_a, admin_a, h_a = org_admin(client, reference, onboard, "exchange")
    org_b, admin_b, h_b = org_admin(client, reference, onboard, "exchange")
    _bank, _, h_bank = org_admin(client, reference, onboard, "bank")
    _res, _, h_res = org_admin(client, reference, onboard, "research")
    ent, project, holding, lot = enterprise_with_lot(reference)
    h_ent = auth(make_user("enterprise", enterprise=ent.uscc))
    x_a, x_b = exchange_account(reference, org_a), exchange_account(reference, org_b)

    # bad input is named; a person outside any exchange is refused
    r = client.post(f"{BASE}/clients", headers=h_a, json={"name": "bad name!",
                                                           "scopes": ["admin.access"]})
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"label", "scopes"}
    h_pub = org_admin(client, reference, onboard, "public")[2]
    for h in (h_bank, h_res, h_ent, h_pub):
        assert client.post(f"{BASE}/clients", headers=h, json={
            "name": "k", "scopes": ["lots.read"]}).status_code == 403
        assert client.post(f"{BASE}/webhooks", headers=h, json={
            "url": "https://x.example.cn/h"}).status_code == 403
        for path in ("/clients", "/webhooks", "/deliveries", "/lots", "/holdings",
                     "/enterprises", f"/enterprises/{ent.uscc}/grade"):
            assert client.get(BASE + path, headers=h).status_code == 403, path
        for path in ("/clients/1/revoke", "/webhooks/x/disable", "/deliveries/x/redeliver"):
            assert client.post(BASE + path, headers=h).status_code == 403, path

    r = client.post(f"{BASE}/clients", headers=h_a, json={"name": "feed-1",
                                                           "scopes": ALL_SCOPES})
    assert r.status_code == 201
    key_a = r.get_json()["api_key"]
    k_a = {"X-API-Key": key_a}
    assert client.post(f"{BASE}/clients", headers=h_a, json={
        "name": "feed-1", "scopes": ["lots.read"]}).status_code == 409
    stored = reference.session.scalar(select(MachineClient).where(
        MachineClient.label == "feed-1"))
    assert stored.organisation_code == org_a["uscc"] and key_a not in stored.key_hash
    listed = client.get(f"{BASE}/clients", headers=h_a).get_json()["items"]
    assert [c["name"] for c in listed] == ["feed-1"] and "api_key" not in listed[0]
    assert listed[0]["scopes"] == sorted(ALL_SCOPES)
    k_b = new_key(client, h_b, "feed-b", ["lots.read"])

    transfer(client, h_ent, lot=lot, holding=holding, to=x_a, quantity=30)
    transfer(client, h_ent, lot=lot, holding=holding, to=x_b, quantity=20)
    lots = client.get(f"{BASE}/lots", headers=k_a).get_json()["items"]
    assert len(lots) == 1 and lots[0]["held_t"] == 30 and lots[0]["vintage"] == 2025
    assert lots[0]["serial_start"] == "PVX-2025-000000001"
    assert lots[0]["project"]["code"] == "PVX"
    hold = client.get(f"{BASE}/holdings", headers=k_a).get_json()
    assert hold["account"] == x_a.code and hold["balance_t"] == 30
    assert client.get(f"{BASE}/lots", headers=k_b).get_json()["items"][0]["held_t"] == 20
    # a scope not given is refused; another exchange's data is never reachable
    assert client.get(f"{BASE}/holdings", headers=k_b).status_code == 403
    assert client.get(f"/api/v1/assets/accounts/{x_b.code}/holdings",
                      headers=k_a).status_code == 404
    assert client.get(f"/api/v1/assets/accounts/{x_a.code}/incoming",
                      headers=k_b).status_code == 404
    # keys never manage keys or webhooks
    for path in ("/clients", "/webhooks", "/deliveries"):
        assert client.get(BASE + path, headers=k_a).status_code == 403

    # confirmation needs its scope, and only for the exchange's own transfers
    mv_a = reference.session.scalar(select(Movement).where(
        Movement.credit_account_id == x_a.id))
    mv_b = reference.session.scalar(select(Movement).where(
        Movement.credit_account_id == x_b.id))
    r = client.post(f"/api/v1/assets/movements/{mv_b.id}/confirm", headers=k_b)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "missing_scope"
    assert client.post(f"/api/v1/assets/movements/{mv_b.id}/confirm",
                       headers=k_a).status_code == 404
    r = client.post(f"/api/v1/assets/movements/{mv_a.id}/confirm", headers=k_a)
    assert r.status_code == 200 and r.get_json()["confirmed_by"].endswith(".feed-1")

    # another exchange's administrator neither sees nor revokes A's key
    assert "feed-1" not in [c["name"] for c in client.get(
        f"{BASE}/clients", headers=h_b).get_json()["items"]]
    assert client.post(f"{BASE}/clients/{stored.id}/revoke",
                       headers=h_b).status_code == 404
    assert client.get(f"{BASE}/lots", headers=k_a).status_code == 200
    # the administrator revokes it: the next request is 401
    r = client.post(f"{BASE}/clients/{stored.id}/revoke", headers=h_a)
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert client.get(f"{BASE}/lots", headers=k_a).status_code == 401
    actions = [a for (a,) in reference.session.execute(select(AuditRecord.action).where(
        AuditRecord.action.in_(["machine_client.create", "machine_client.revoke",
                                "exchange.refused"])))]
    assert actions.count("machine_client.create") == 2
    assert actions.count("machine_client.revoke") == 1 and "exchange.refused" in actions


def test_grades_of_consenting_enterprises_only(client, reference, onboard, make_user, auth):
    org_a, _, h_a = org_admin(client, reference, onboard, "exchange")
    org_b, _, h_b = org_admin(client, reference, onboard, "exchange")
    ent, *_ = enterprise_with_lot(reference)
    other, *_ = enterprise_with_lot(reference, n=2, code="PVY")
    h_ent = auth(make_user("enterprise", enterprise=ent.uscc))
    k_a = new_key(client, h_a, "grades", ["grades.read"])
    k_b = new_key(client, h_b, "grades", ["grades.read", "lots.read"])
    k_lots = new_key(client, h_a, "lots-only", ["lots.read"])

    assert {x["code"] for x in client.get("/api/v1/onboarding/exchanges",
                                          headers=h_ent).get_json()["items"]} == {
        org_a["uscc"], org_b["uscc"]}
    r = client.post("/api/v1/onboarding/consents", headers=h_ent, json={
        "uscc": ent.uscc, "exchange": org_a["uscc"], "days": 30, "items": ["summary"]})
    assert r.status_code == 422 and "items" in r.get_json()["error"]["fields"]
    assert client.get(f"{BASE}/enterprises/{ent.uscc}/grade", headers=k_a).status_code == 404
    r = client.post("/api/v1/onboarding/consents", headers=h_ent, json={
        "uscc": ent.uscc, "exchange": org_a["uscc"], "days": 30})
    assert r.status_code == 201 and r.get_json()["recipient_kind"] == "exchange"
    uid = r.get_json()["id"]

    assert [e["uscc"] for e in client.get(f"{BASE}/enterprises",
                                          headers=k_a).get_json()["items"]] == [ent.uscc]
    g = client.get(f"{BASE}/enterprises/{ent.uscc}/grade", headers=k_a)
    assert g.status_code == 200 and g.get_json()["uscc"] == ent.uscc
    # non-consenting enterprise, another exchange, a key without the scope
    assert client.get(f"{BASE}/enterprises/{other.uscc}/grade", headers=k_a).status_code == 404
    assert client.get(f"{BASE}/enterprises/{ent.uscc}/grade", headers=k_b).status_code == 404
    assert client.get(f"{BASE}/enterprises", headers=k_b).get_json()["items"] == []
    assert client.get(f"{BASE}/enterprises/{ent.uscc}/grade",
                      headers=k_lots).status_code == 403
    # the exchange is not a bank: the bank endpoints stay closed to it
    assert client.get("/api/v1/onboarding/bank/enterprises", headers=k_a).status_code == 403
    # the enterprise sees who looked
    mine = client.get("/api/v1/onboarding/consents", headers=h_ent).get_json()["items"]
    assert [r["what"] for r in mine[0]["reads"]] == ["grade"]
    assert mine[0]["reads"][0]["by"].endswith("@machine.cecp")
    assert reference.session.query(ConsentRead).count() == 1
    # revoked: 404 on the next read
    assert client.post(f"/api/v1/onboarding/consents/{uid}/revoke",
                       headers=h_ent).status_code == 200
    assert client.get(f"{BASE}/enterprises/{ent.uscc}/grade", headers=k_a).status_code == 404


def test_suspension_revokes_every_key_and_webhook(client, reference, onboard, admin_headers,
                                                  app, monkeypatch):
    from app.exchange import clients

    monkeypatch.setitem(app.config, "CECP_WEBHOOK_ALLOW_HTTP_LOCAL", True)
    org_a, admin_a, h_a = org_admin(client, reference, onboard, "exchange")
    org_b, _, h_b = org_admin(client, reference, onboard, "exchange")
    k1 = new_key(client, h_a, "one", ["lots.read"])
    k2 = new_key(client, h_a, "two", ["holdings.read"])
    k_b = new_key(client, h_b, "b", ["lots.read"])
    # a key the platform issued for the exchange (CLI) belongs to it as well
    _, cli_key = clients.create(name="platform-issued", institutions=[org_a["uscc"]],
                                permissions=["exchange.read"])
    reference.session.commit()
    r = client.post(f"{BASE}/webhooks", headers=h_a,
                    json={"url": "http://127.0.0.1:9/hook"})
    assert r.status_code == 201
    assert client.get(f"{BASE}/lots", headers=k1).status_code == 200
    assert client.get("/api/v1/assets/accounts", headers={"X-API-Key": cli_key}).status_code \
        == 200

    r = client.post(f"/api/v1/onboarding/applications/{org_a['id']}/suspend",
                    json={"reason": "资质过期"}, headers=admin_headers)
    assert r.status_code == 200, r.get_json()
    # the next request with any of its keys is refused; another exchange's key still works
    assert client.get(f"{BASE}/lots", headers=k1).status_code == 401
    assert client.get(f"{BASE}/holdings", headers=k2).status_code == 401
    assert client.get("/api/v1/assets/accounts", headers={"X-API-Key": cli_key}).status_code \
        == 401
    assert client.get(f"{BASE}/lots", headers=k_b).status_code == 200
    revoked = [s for (s,) in reference.session.execute(select(AuditRecord.summary).where(
        AuditRecord.action == "machine_client.revoke"))]
    assert len(revoked) == 3  # one record per key
    assert reference.session.scalar(select(AuditRecord.id).where(
        AuditRecord.action == "webhook.disable")) is not None

    # re-activation brings the people back, never the keys: the admin issues new ones
    r = client.post(f"/api/v1/onboarding/applications/{org_a['id']}/reactivate",
                    json={"reason": "资质已更新"}, headers=admin_headers)
    assert r.status_code == 200, r.get_json()
    assert client.get(f"{BASE}/lots", headers=k1).status_code == 401
    h_a = api_token(client, admin_a, password=PW)
    items = client.get(f"{BASE}/clients", headers=h_a).get_json()["items"]
    assert len(items) == 3 and not any(c["active"] for c in items)
    hooks = client.get(f"{BASE}/webhooks", headers=h_a).get_json()["items"]
    assert hooks[0]["active"] is False and hooks[0]["disabled_reason"] == "机构暂停"
    k3 = new_key(client, h_a, "three", ["lots.read"])
    assert client.get(f"{BASE}/lots", headers=k3).status_code == 200


def test_enterprise_page_grants_an_exchange_grade_only(client, reference, onboard, make_user):
    from tests.conftest import login

    org_x, _, _ = org_admin(client, reference, onboard, "exchange")
    ent, *_ = enterprise_with_lot(reference)
    user = make_user("enterprise", enterprise=ent.uscc)
    login(client, user)
    page = client.get("/onboarding/consents").get_data(as_text=True)
    assert f'value="{org_x["uscc"]}"' in page and "交易所（仅碳效等级）" in page
    r = client.post("/onboarding/consents", data={"uscc": ent.uscc, "bank": org_x["uscc"],
                                                  "days": "30", "items": ["summary"]})
    assert r.status_code == 422 and 'data-field="items"' in r.get_data(as_text=True)
    r = client.post("/onboarding/consents", data={"uscc": ent.uscc, "bank": org_x["uscc"],
                                                  "days": "30", "items": ["grade"]})
    assert r.status_code in (302, 303)
    assert org_x["name"] in client.get("/onboarding/consents").get_data(as_text=True)
