"""R-5.1 identity: password login, TOTP (mandatory per role), lockout, tokens, idle timeout."""

from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.db import utcnow
from tests.conftest import enrol_totp, login, totp_now


def _actions(db):
    return [a for a in db.session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq))]


def test_password_login_and_logout_are_audited(client, make_user, db):
    user = make_user("enterprise", enterprise="91330500MA2B00000X")
    r = login(client, user)
    assert r.status_code == 302
    assert client.get("/profile").status_code == 200
    r = client.post("/auth/logout")
    assert r.status_code in (200, 302)
    assert client.get("/profile").status_code in (302, 401)
    acts = _actions(db)
    assert "login.success" in acts and "logout" in acts


def test_reviewer_must_enrol_totp_before_using_the_platform(client, make_user):
    user = make_user("reviewer", region="330500")
    r = login(client, user)
    assert r.status_code == 302 and "/auth/tf-setup" in r.headers["Location"]
    # not logged in until the second factor is set up
    assert client.get("/profile").status_code == 302
    page = client.get("/auth/tf-setup")
    assert page.status_code == 200


def test_totp_second_factor_required_when_enrolled(client, make_user, db):
    user = make_user("reviewer", region="330500")
    enrol_totp(user)
    r = client.post("/auth/login", data={"email": user.email, "password": "Strong#Pass2026x"})
    assert r.status_code == 302 and "tf-verify" in r.headers["Location"] \
        or "tf-validate" in r.headers["Location"]
    assert client.get("/profile").status_code != 200
    r = client.post("/auth/tf-validate", data={"code": "000000"})
    assert client.get("/profile").status_code != 200
    r = client.post("/auth/tf-validate", data={"code": totp_now(user)})
    assert client.get("/profile").status_code == 200


def test_lockout_after_five_failures_with_chinese_message(client, make_user, db):
    user = make_user("enterprise")
    for _ in range(5):
        client.post("/auth/login", data={"email": user.email, "password": "wrong-Password1"})
    r = client.post("/auth/login", data={"email": user.email, "password": "Strong#Pass2026x"})
    assert "账户已锁定" in r.get_data(as_text=True)
    assert client.get("/profile").status_code != 200
    acts = _actions(db)
    assert acts.count("login.failure") == 5 and "login.lockout" in acts
    # the lock lifts after the window
    db.session.refresh(user)
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    login(client, user)
    assert client.get("/profile").status_code == 200


def test_api_token_requires_totp_code_when_enrolled(client, make_user):
    user = make_user("approver", region="330000")
    r = client.post("/api/v1/auth/token", json={"email": user.email,
                                                "password": "Strong#Pass2026x"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "two_factor_required"
    enrol_totp(user)
    r = client.post("/api/v1/auth/token", json={"email": user.email,
                                                "password": "Strong#Pass2026x"})
    assert r.status_code == 401 and "code" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/auth/token", json={"email": user.email,
                                                "password": "Strong#Pass2026x",
                                                "code": totp_now(user)})
    assert r.status_code == 200
    token = r.get_json()["token"]
    me = client.get("/api/v1/me", headers={"Authentication-Token": token})
    assert me.status_code == 200 and me.get_json()["email"] == user.email


def test_api_rejects_bad_credentials_with_error_shape(client, make_user):
    user = make_user("enterprise")
    r = client.post("/api/v1/auth/token", json={"email": user.email, "password": "nope"})
    assert r.status_code == 401
    assert r.get_json()["error"]["message"].startswith("邮箱、密码或动态口令错误")
    r = client.post("/api/v1/auth/token", json={"email": "not-an-email"})
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) >= {"email", "password"}


def test_idle_session_times_out(client, make_user, app):
    user = make_user("enterprise")
    login(client, user)
    assert client.get("/profile").status_code == 200
    with client.session_transaction() as s:
        s["cecp_last_seen"] = (utcnow() - timedelta(minutes=31)).isoformat()
    r = client.get("/profile")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
    assert client.get("/profile").status_code != 200


def test_webauthn_is_offered_as_an_optional_strong_method(client, make_user):
    user = make_user("enterprise")
    login(client, user)
    page = client.get("/auth/wan-register")
    assert page.status_code == 200
    assert "注册新的安全密钥" in page.get_data(as_text=True)
    r = client.post("/auth/wan-register", json={"name": "我的密钥", "usage": "secondary"})
    assert r.status_code == 200
    options = r.get_json()["response"]["credential_options"]
    assert "challenge" in str(options) and user.email in str(options)


def test_session_posts_need_a_csrf_token(app, client, make_user):
    """Browser sessions are CSRF-protected on every state change; API tokens are not
    cookies, so they need none."""
    user = make_user("enterprise")
    login(client, user)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = client.post("/api/v1/energy-records", json={"records": []})
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf"
        r = client.post("/auth/change", data={"password": "Strong#Pass2026x",
                                              "new_password": "Fresh#Qv82-lkd9z",
                                              "new_password_confirm": "Fresh#Qv82-lkd9z"})
        assert r.status_code == 400 and "安全令牌 (CSRF)" in r.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
