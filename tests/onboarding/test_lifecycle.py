"""Review, invitation (single use, expiring), agreement acceptance, provisioning, suspension,
re-activation, and isolation between organisations."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.identity.models import User
from app.onboarding import agreement
from app.onboarding.models import Application, Invitation
from app.orgs.models import Institution
from tests.conftest import api_token, enrol_totp, login
from tests.onboarding.conftest import application_body


def _apply(client, **over) -> str:
    r = client.post("/api/v1/onboarding/applications", json=application_body(**over))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _actions(db, uid: str) -> list[str]:
    a = db.session.scalar(select(Application).where(Application.uid == uid))
    return [r.action for r in db.session.scalars(select(AuditRecord).where(
        AuditRecord.object_type == "onboarding_application",
        AuditRecord.object_id == str(a.id)).order_by(AuditRecord.seq))]


def test_review_decisions_need_admin_and_reasons(client, reference, admin_headers,
                                                 make_user, auth):
    uid = _apply(client)
    url = f"/api/v1/onboarding/applications/{uid}/decision"
    assert client.post(url, json={"decision": "approve"}).status_code == 401
    reviewer = auth(make_user("reviewer", region="330500"))
    assert client.post(url, json={"decision": "approve"}, headers=reviewer).status_code == 403
    r = client.post(url, json={"decision": "maybe"}, headers=admin_headers)
    assert r.status_code == 422 and "decision" in r.get_json()["error"]["fields"]
    r = client.post(url, json={"decision": "reject"}, headers=admin_headers)
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["reason"]
    r = client.post(url, json={"decision": "return", "reason": "请补充资质证明"},
                    headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["status"] == "returned"
    assert "invitation_url" not in r.get_json()
    assert client.post(url, json={"decision": "approve"},
                       headers=admin_headers).status_code == 409
    # returned: the same case continues through the resubmission link, so a second
    # application with the same code is refused; once rejected, it may apply again
    uscc = reference.session.scalar(select(Application.uscc).where(Application.uid == uid))
    r = client.post("/api/v1/onboarding/applications",
                    json=application_body(uscc=uscc))
    assert r.status_code == 409 and "uscc" in r.get_json()["error"]["fields"]
    uid2 = _apply(client)
    r = client.post(f"/api/v1/onboarding/applications/{uid2}/decision",
                    json={"decision": "reject", "reason": "不属于可入驻机构"},
                    headers=admin_headers)
    assert r.get_json()["status"] == "rejected" and r.get_json()["review_note"]
    uscc2 = reference.session.scalar(select(Application.uscc).where(Application.uid == uid2))
    assert _apply(client, uscc=uscc2)
    assert _actions(reference, uid) == ["onboarding.apply", "onboarding.return"]
    assert _actions(reference, uid2) == ["onboarding.apply", "onboarding.reject"]


def test_approval_invitation_agreement_and_activation(client, reference, admin_headers):
    uid = _apply(client, kind="exchange")
    r = client.post(f"/api/v1/onboarding/applications/{uid}/decision",
                    json={"decision": "approve"}, headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["status"] == "approved"
    token = r.get_json()["invitation_url"].rsplit("/", 1)[1]
    assert reference.session.scalar(select(Invitation.token_hash)) != token  # hash only
    page = client.get(f"/onboarding/invite/{token}")
    assert page.status_code == 200 and agreement.VERSION in page.get_data(as_text=True)
    accept = f"/api/v1/onboarding/invitations/{token}/accept"
    r = client.post(accept, json={"password": "Org#Admin-Pass-2026x"})
    assert r.status_code == 422 and "accept" in r.get_json()["error"]["fields"]
    r = client.post(accept, json={"password": "short", "accept_agreement": True})
    assert r.status_code == 422 and "password" in r.get_json()["error"]["fields"]
    r = client.post(accept, json={"password": "Org#Admin-Pass-2026x",
                                  "accept_agreement": True,
                                  "agreement_version": agreement.VERSION})
    assert r.status_code == 201, r.get_json()
    a = reference.session.scalar(select(Application).where(Application.uid == uid))
    reference.session.refresh(a)
    assert a.status == "active" and a.agreement_text == agreement.TEXT
    assert a.agreement_accepted_at is not None
    user = reference.session.get(User, a.admin_user_id)
    assert user.email == a.contact_email and user.role_names == {"exchange", "org_admin"}
    assert [(s.kind, s.code) for s in user.scopes] == [("institution", a.uscc)]
    inst = reference.session.scalar(select(Institution).where(Institution.code == a.uscc))
    assert inst.kind == "exchange" and a.institution_id == inst.id
    # single use
    assert client.post(accept, json={"password": "Org#Admin-Pass-2026x",
                                     "accept_agreement": True}).status_code == 404
    assert client.get(f"/onboarding/invite/{token}").status_code == 404
    assert _actions(reference, uid)[-3:] == ["onboarding.invite",
                                             "onboarding.agreement_accept",
                                             "onboarding.activate"]
    headers = api_token(client, user, password="Org#Admin-Pass-2026x")
    r = client.get("/api/v1/onboarding/organisation", headers=headers)
    assert r.status_code == 200 and r.get_json()["status"] == "active"
    assert [u["email"] for u in r.get_json()["users"]] == [user.email]


def test_invitation_expires_and_reissue_revokes_old(client, reference, admin_headers):
    uid = _apply(client)
    r = client.post(f"/api/v1/onboarding/applications/{uid}/decision",
                    json={"decision": "approve"}, headers=admin_headers)
    token = r.get_json()["invitation_url"].rsplit("/", 1)[1]
    inv = reference.session.scalar(select(Invitation))
    inv.expires_at = inv.created_at - timedelta(seconds=1)
    reference.session.commit()
    r = client.post(f"/api/v1/onboarding/invitations/{token}/accept",
                    json={"password": "Org#Admin-Pass-2026x", "accept_agreement": True})
    assert r.status_code == 404 and "token" in r.get_json()["error"]["fields"]
    login(client, reference.session.scalar(select(User).where(User.email.like("admin-%"))))
    r = client.post(f"/onboarding/review/{uid}", data={"action": "reissue"})
    assert r.status_code == 302
    flashed = client.get(f"/onboarding/review/{uid}").get_data(as_text=True)
    new = flashed.split("/onboarding/invite/", 1)[1].split("<", 1)[0].split()[0]
    assert new != token
    client.get("/auth/logout")
    r = client.post(f"/onboarding/invite/{new}", data={
        "password": "Org#Admin-Pass-2026x", "password_confirm": "Org#Admin-Pass-2026x",
        "accept": "yes", "agreement_version": agreement.VERSION})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert reference.session.scalar(select(Application.status)) == "active"


def test_suspension_stops_every_account_on_next_request(client, reference, admin_headers,
                                                        onboard, app):
    org, email, password = onboard(kind="bank")
    admin = reference.session.scalar(select(User).where(User.email == email))
    from app.identity import service as accounts

    member = accounts.create(email="teller@org.cecp", password="Strong#Pass2026x",
                             roles=["bank"], scopes=[("institution", org["uscc"])],
                             check_policy=False)
    reference.session.commit()
    h_admin = api_token(client, admin, password=password)
    h_member = api_token(client, member)
    assert client.get("/api/v1/onboarding/organisation", headers=h_member).status_code == 200
    browser = app.test_client()
    login(browser, admin, password=password)
    assert browser.get("/onboarding/workspace").status_code == 200
    url = f"/api/v1/onboarding/applications/{org['id']}/suspend"
    assert client.post(url, json={}, headers=admin_headers).status_code == 422
    assert client.post(url, json={"reason": "x"}, headers=h_admin).status_code == 403
    r = client.post(url, json={"reason": "违反数据使用协议"}, headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["accounts"] == 2
    for h in (h_admin, h_member):
        assert client.get("/api/v1/onboarding/organisation", headers=h).status_code == 401
    assert browser.get("/onboarding/workspace").status_code in (302, 401)
    assert client.post("/api/v1/auth/token", json={"email": email, "password": password}
                       ).status_code >= 400
    assert _actions(reference, org["id"])[-1] == "onboarding.suspend"
    disabled = reference.session.scalars(select(AuditRecord.object_id).where(
        AuditRecord.action == "user.disable")).all()
    assert sorted(disabled) == sorted([str(admin.id), str(member.id)])
    r = client.post(f"/api/v1/onboarding/applications/{org['id']}/reactivate",
                    json={"reason": "整改完成，复核通过"}, headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["status"] == "active"
    h_admin = api_token(client, admin, password=password)
    assert client.get("/api/v1/onboarding/organisation", headers=h_admin).status_code == 200


def test_organisations_never_see_each_other(client, reference, admin_headers, onboard):
    a, email_a, pw = onboard(kind="research")
    b, email_b, _ = onboard(kind="bank")
    pending = _apply(client, kind="exchange")
    user_a = reference.session.scalar(select(User).where(User.email == email_a))
    h = api_token(client, user_a, password=pw)
    r = client.get("/api/v1/onboarding/applications", headers=h)
    assert [x["id"] for x in r.get_json()["items"]] == [a["id"]]
    for other in (b["id"], pending):
        assert client.get(f"/api/v1/onboarding/applications/{other}",
                          headers=h).status_code == 404
        assert client.post(f"/api/v1/onboarding/applications/{other}/suspend",
                           json={"reason": "x"}, headers=h).status_code == 403
    org = client.get("/api/v1/onboarding/organisation", headers=h).get_json()
    assert org["id"] == a["id"] and [u["email"] for u in org["users"]] == [email_a]
    # the platform administrator sees all three
    r = client.get("/api/v1/onboarding/applications", headers=admin_headers)
    assert len(r.get_json()["items"]) == 3
    # pages: the workspace shows only the caller's organisation; the review needs admin
    login(client, user_a, password=pw)
    html = client.get("/onboarding/workspace").get_data(as_text=True)
    assert a["name"] in html and b["name"] not in html and email_b not in html
    assert client.get("/onboarding/review").status_code == 403
    assert client.get(f"/onboarding/review/{b['id']}").status_code == 403


def test_review_pages_for_the_administrator(client, reference, make_user):
    uid = _apply(client, name="页面审核研究院")
    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    html = client.get("/onboarding/review").get_data(as_text=True)
    assert "页面审核研究院" in html and "待审核" in html
    html = client.get(f"/onboarding/review/{uid}").get_data(as_text=True)
    assert "李研究" in html and "0572-1234567" in html  # decrypted for the reviewer
    r = client.post(f"/onboarding/review/{uid}", data={"action": "reject"})
    assert r.status_code == 422 and "退回或驳回必须填写原因" in r.get_data(as_text=True)
    r = client.post(f"/onboarding/review/{uid}", data={"action": "approve"})
    assert r.status_code == 302
    assert "/onboarding/invite/" in client.get(f"/onboarding/review/{uid}").get_data(
        as_text=True)
