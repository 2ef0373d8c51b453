"""Issue 16: server-side sessions (logout kills a copied cookie, new id at login, absolute
lifetime, administrator ends sessions and lifts locks), logout needs CSRF, TOTP replay."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.db import utcnow
from tests.conftest import enrol_totp, login, totp_now

COOKIE = "session"


def _sid(client):
    c = client.get_cookie(COOKIE)
    return c.value if c else None


def _copy_to(app, sid):
    other = app.test_client()
    other.set_cookie(COOKIE, sid)
    return other


def _actions(db):
    return list(db.session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


def test_logout_kills_a_copied_cookie_on_the_server(app, client, make_user):
    user = make_user("enterprise", enterprise="91330500MA2B00000X")
    client.get("/auth/login")
    before = _sid(client)
    login(client, user)
    sid = _sid(client)
    assert sid and sid != before  # a new id at login: no fixation
    thief = _copy_to(app, sid)
    assert thief.get("/profile").status_code == 200  # the copy works while signed in
    assert client.post("/auth/logout").status_code in (200, 302)
    assert thief.get("/profile").status_code in (302, 401)  # dead on the server
    assert _sid(client) != sid


def test_session_data_is_not_in_the_cookie(client, make_user):
    user = make_user("enterprise")
    login(client, user)
    sid = _sid(client)
    assert "." not in sid and len(sid) >= 40  # a random id, not a signed payload
    assert user.email not in sid


def test_absolute_lifetime_ends_an_active_session(app, client, make_user, db):
    user = make_user("enterprise")
    login(client, user)
    assert client.get("/profile").status_code == 200
    with client.session_transaction() as s:  # active a minute ago, but signed in 13 h ago
        s["cecp_started"] = (utcnow() - timedelta(hours=13)).isoformat()
        s["cecp_last_seen"] = (utcnow() - timedelta(minutes=1)).isoformat()
    r = client.get("/profile")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
    assert client.get("/profile").status_code == 302
    assert "session.max_age" in _actions(db)


def test_administrator_lists_and_ends_sessions_and_unlocks(app, client, make_user, db):
    user = make_user("enterprise")
    browsers = [app.test_client() for _ in range(2)]
    for b in browsers:
        login(b, user)
        assert b.get("/profile").status_code == 200
    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    page = client.get(f"/admin/sessions/?user={user.email}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "会话管理" in text and text.count('id="session-') == 2
    from app.identity.models import UserSession

    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    ).all()
    r = client.post(
        "/admin/sessions/", data={"user": user.id, "action": "end", "session_id": rows[0].id}
    )
    assert r.status_code == 302, r.get_data(as_text=True)[-800:]
    assert browsers[0].get("/profile").status_code == 302  # ended
    assert browsers[1].get("/profile").status_code == 200  # the other one lives
    client.post("/admin/sessions/", data={"user": user.id, "action": "end_all"})
    assert browsers[1].get("/profile").status_code == 302
    # a lock someone caused with wrong passwords: the administrator lifts it
    db.session.refresh(user)
    user.locked_until = utcnow() + timedelta(minutes=15)
    db.session.commit()
    assert "已锁定" in client.get(f"/admin/sessions/?user={user.id}").get_data(as_text=True)
    client.post("/admin/sessions/", data={"user": user.id, "action": "unlock"})
    fresh = app.test_client()
    login(fresh, user)
    assert fresh.get("/profile").status_code == 200
    acts = _actions(db)
    assert {"session.end", "session.end_all", "user.unlock"} <= set(acts)


def test_session_page_is_for_administrators_only(client, make_user):
    user = make_user("enterprise")
    login(client, user)
    assert client.get(f"/admin/sessions/?user={user.id}").status_code == 403


def test_cookie_secure_flag_follows_https_or_setting(app, client, make_user):
    user = make_user("enterprise")
    r = client.post(
        "/auth/login",
        data={"email": user.email, "password": "Strong#Pass2026x"},
        base_url="https://localhost",
    )
    assert "Secure" in r.headers["Set-Cookie"]
    plain = app.test_client()
    r = plain.post("/auth/login", data={"email": user.email, "password": "Strong#Pass2026x"})
    assert "Secure" not in r.headers["Set-Cookie"]
    app.config["CECP_COOKIE_SECURE"] = True
    try:
        r = app.test_client().post(
            "/auth/login", data={"email": user.email, "password": "Strong#Pass2026x"}
        )
        assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    finally:
        app.config["CECP_COOKIE_SECURE"] = "auto"


@pytest.fixture()
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_logout_needs_the_csrf_token(app, client, make_user, csrf_on, db):
    user = make_user("enterprise")
    page = client.get("/auth/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/auth/login",
        data={"email": user.email, "password": "Strong#Pass2026x", "csrf_token": token},
    )
    assert client.get("/profile").status_code == 200
    assert client.get("/auth/logout").status_code == 405  # no logout by a link or image
    r = client.post("/auth/logout")  # a cross-site form has no token: a confirmation page
    assert r.status_code == 200 and "确认退出" in r.get_data(as_text=True)
    assert client.get("/profile").status_code == 200  # still signed in
    home = client.get("/profile").get_data(as_text=True)
    token = re.search(r'value="([^"]+)" name="csrf_token"', home).group(1)
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/profile").status_code == 302


def test_totp_code_is_accepted_once(app, make_user, db):
    user = make_user("reviewer", region="330500")
    enrol_totp(user)
    first, second = app.test_client(), app.test_client()
    code = totp_now(user)
    for c in (first, second):
        r = c.post("/auth/login", data={"email": user.email, "password": "Strong#Pass2026x"})
        assert "tf-validate" in r.headers["Location"]
    first.post("/auth/tf-validate", data={"code": code})
    assert first.get("/profile").status_code == 200
    second.post("/auth/tf-validate", data={"code": code})  # the same code, replayed
    assert second.get("/profile").status_code != 200
    # the API refuses the replayed code too, with the same answer as a wrong password
    r = app.test_client().post(
        "/api/v1/auth/token",
        json={"email": user.email, "password": "Strong#Pass2026x", "code": code},
    )
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_credentials"
    r = app.test_client().post(
        "/api/v1/auth/token",
        json={"email": user.email, "password": "Strong#Pass2026x", "code": totp_now(user)},
    )
    assert r.status_code == 200  # a later code is fine


def test_redis_session_store(database_url, redis_url, make_user, db):
    """With Redis configured the sessions live there; logout deletes the key."""
    import redis as redis_lib

    from app import create_app

    other = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "CECP_REDIS_URL": redis_url,
            "CECP_QUEUE_PREFIX": "cecpsectest",
            "WTF_CSRF_ENABLED": False,
            "CECP_RATELIMIT_ENABLED": False,
        }
    )
    user = make_user("enterprise")
    r = redis_lib.Redis.from_url(redis_url)
    c = other.test_client()
    login(c, user)
    assert c.get("/profile").status_code == 200
    sid = _sid(c)
    assert r.exists(f"cecpsectest:session:{sid}")
    thief = _copy_to(other, sid)
    assert thief.get("/profile").status_code == 200
    c.post("/auth/logout")
    assert not r.exists(f"cecpsectest:session:{sid}")
    assert thief.get("/profile").status_code == 302
