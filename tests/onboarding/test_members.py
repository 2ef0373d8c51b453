"""The organisation administrator manages its own accounts, never another organisation's."""

from __future__ import annotations

from sqlalchemy import select

from app.identity.models import User
from tests.conftest import api_token


def _admin(client, reference, onboard, **kw):
    org, email, pw = onboard(**kw)
    user = reference.session.scalar(select(User).where(User.email == email))
    return org, user, api_token(client, user, password=pw)


def test_org_admin_adds_and_disables_only_its_own_members(client, reference, onboard):
    org_a, admin_a, h_a = _admin(client, reference, onboard, kind="exchange")
    org_b, admin_b, h_b = _admin(client, reference, onboard, kind="research")
    url = "/api/v1/onboarding/organisation/users"
    r = client.post(url, json={"email": "bad", "password": "x"}, headers=h_a)
    assert r.status_code == 422 and "email" in r.get_json()["error"]["fields"]
    r = client.post(url, json={"email": "trader@exa.cecp", "password": "weak"}, headers=h_a)
    assert r.status_code == 422 and "password" in r.get_json()["error"]["fields"]
    r = client.post(url, json={"email": "trader@exa.cecp", "password": "Market#Key-2026zq",
                               "display_name": "交易员"}, headers=h_a)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["roles"] == ["exchange"]
    member_id = r.get_json()["id"]
    member = reference.session.get(User, member_id)
    assert [(s.kind, s.code) for s in member.scopes] == [("institution", org_a["uscc"])]
    h_m = api_token(client, member, password="Market#Key-2026zq")
    # a plain member cannot manage accounts
    assert client.post(url, json={"email": "x@exa.cecp", "password": "Market#Key-2026zq"},
                       headers=h_m).status_code == 403
    # another organisation's administrator cannot touch this member, nor see it
    assert client.post(f"{url}/{member_id}/disable", headers=h_b).status_code == 404
    org = client.get("/api/v1/onboarding/organisation", headers=h_b).get_json()
    assert "trader@exa.cecp" not in [u["email"] for u in org["users"]]
    assert client.post(f"{url}/{admin_a.id}/disable", headers=h_a).status_code == 409
    r = client.post(f"{url}/{member_id}/disable", headers=h_a)
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert client.get("/api/v1/onboarding/organisation", headers=h_m).status_code == 401
    r = client.post(f"{url}/{member_id}/enable", headers=h_a)
    assert r.status_code == 200 and r.get_json()["active"] is True
    org = client.get("/api/v1/onboarding/organisation", headers=h_a).get_json()
    assert sorted(u["email"] for u in org["users"]) == sorted(
        [admin_a.email, "trader@exa.cecp"])


def test_a_new_organisation_administrator_must_enrol_totp(client, reference, onboard):
    """The invitation provisions the administrator; the first login leads to TOTP enrolment
    before any page of the workspace (CECP_TF_REQUIRED_ROLES includes org_admin)."""
    from tests.conftest import login

    org, email, pw = onboard(kind="bank")
    admin = reference.session.scalar(select(User).where(User.email == email))
    assert "org_admin" in admin.role_names and admin.requires_two_factor()
    r = login(client, admin, password=pw)
    assert "/auth/tf-setup" in r.headers["Location"]
    r = client.get("/onboarding/workspace")  # no session before the second factor
    assert r.status_code == 302 and "/auth/" in r.headers["Location"]
    # a plain member added by the administrator is not forced to
    h = api_token(client, admin, password=pw)
    r = client.post("/api/v1/onboarding/organisation/users", headers=h, json={
        "email": "analyst@bank.cecp", "password": "Green#Loan-2026zq", "display_name": "分析员"})
    assert r.status_code == 201, r.get_json()
    member = reference.session.get(User, r.get_json()["id"])
    assert not member.requires_two_factor()


def test_org_admin_manages_members_on_the_workspace_page(client, reference, onboard, app):
    from tests.conftest import enrol_totp, login

    org, email, pw = onboard(kind="exchange")
    _, other_email, _ = onboard(kind="research")
    admin = reference.session.scalar(select(User).where(User.email == email))
    enrol_totp(admin)
    login(client, admin, password=pw)
    page = client.get("/onboarding/workspace").get_data(as_text=True)
    assert "添加本机构账户" in page and email in page
    r = client.post("/onboarding/workspace", data={
        "email": "clerk@exa.cecp", "display_name": "结算员", "password": "Market#Key-2026zq",
        "password_confirm": "different"})
    assert r.status_code == 422 and 'data-field="password_confirm"' in r.get_data(as_text=True)
    r = client.post("/onboarding/workspace", data={
        "email": "clerk@exa.cecp", "display_name": "结算员", "password": "Market#Key-2026zq",
        "password_confirm": "Market#Key-2026zq"})
    assert r.status_code == 302
    clerk = reference.session.scalar(select(User).where(User.email == "clerk@exa.cecp"))
    assert [(s.kind, s.code) for s in clerk.scopes] == [("institution", org["uscc"])]
    r = client.post("/onboarding/workspace", data={"toggle": str(clerk.id), "active": "0"})
    assert r.status_code == 302
    reference.session.refresh(clerk)
    assert not clerk.active
    # another organisation's account cannot be toggled from here
    other = reference.session.scalar(select(User).where(User.email == other_email))
    r = client.post("/onboarding/workspace", data={"toggle": str(other.id), "active": "0"})
    assert r.status_code == 404
    reference.session.refresh(other)
    assert other.active
