"""Issue 16: rate limits (login and token by address and account with growing delays,
password reset, public pages, API clients), the Chinese 429 with Retry-After, and the token
endpoint that tells nobody which accounts exist or which password was right."""

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from tests.conftest import enrol_totp, login, totp_now

PASSWORD = "Strong#Pass2026x"


@pytest.fixture()
def limits(app):
    from app.identity import ratelimit

    app.config["CECP_RATELIMIT_ENABLED"] = True
    with app.app_context():
        ratelimit.reset_all()
    yield app.config
    app.config["CECP_RATELIMIT_ENABLED"] = False
    for key in (
        "CECP_RATELIMIT_LOGIN_IP",
        "CECP_RATELIMIT_PUBLIC",
        "CECP_RATELIMIT_API",
        "CECP_LOCKOUT_ATTEMPTS",
    ):
        app.config.pop(key + "_saved", None)
    with app.app_context():
        ratelimit.reset_all()


def _fail(client, email, n):
    return [
        client.post("/auth/login", data={"email": email, "password": "wrong-Pass99x"})
        for _ in range(n)
    ]


def test_login_flood_on_one_account_gets_429_with_retry_after(client, make_user, limits, app):
    app.config["CECP_LOCKOUT_ATTEMPTS"] = 100  # the throttle alone, without the lock
    try:
        user = make_user("enterprise")
        answers = _fail(client, user.email, 6)
        assert [r.status_code for r in answers[:5]] == [200] * 5
        r = answers[5]
        assert r.status_code == 429 and "请求过于频繁" in r.get_data(as_text=True)
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        # the right password is throttled as well while the limit holds
        assert (
            client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code
            == 429
        )
    finally:
        app.config["CECP_LOCKOUT_ATTEMPTS"] = 5


def test_growing_delays_come_from_tiers(limits, app):
    from limits import parse_many

    tiers = parse_many(app.config["CECP_RATELIMIT_LOGIN_ACCOUNT"])
    windows = [t.get_expiry() for t in tiers]
    amounts = [t.amount for t in tiers]
    assert windows == sorted(windows) and amounts == sorted(amounts) and len(tiers) >= 3


def test_successful_logins_from_one_address_are_not_throttled(app, make_user, limits):
    app.config["CECP_RATELIMIT_LOGIN_IP"] = "3/minute"
    try:
        for _ in range(5):  # an office behind one address: everyone signs in
            c = app.test_client()
            user = make_user("enterprise")
            assert login(c, user).status_code == 302
        c = app.test_client()
        codes = [r.status_code for r in _fail(c, "nobody@t.cecp", 4)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
    finally:
        app.config["CECP_RATELIMIT_LOGIN_IP"] = "30/minute;200/hour"


def test_token_endpoint_is_limited_by_account(client, make_user, limits):
    user = make_user("enterprise")
    codes = [
        client.post(
            "/api/v1/auth/token", json={"email": user.email, "password": "wrong"}
        ).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [401] * 5
    assert codes[5] == 429
    last = client.post("/api/v1/auth/token", json={"email": user.email, "password": "x"})
    assert last.get_json()["error"]["code"] == "429" and "Retry-After" in last.headers


def test_public_pages_and_api_clients_are_limited(app, client, make_user, limits, db):
    app.config["CECP_RATELIMIT_PUBLIC"] = "5/minute"
    app.config["CECP_RATELIMIT_API"] = "4/minute"
    try:
        codes = [client.get("/auth/login").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        user = make_user("enterprise", enterprise="91330500MA2B00000X")
        api = app.test_client()
        token = api.post(
            "/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}
        ).get_json()["token"]
        codes = [
            api.get("/api/v1/me", headers={"Authentication-Token": token}).status_code
            for _ in range(5)
        ]
        assert codes[-1] == 429 and 429 not in codes[:4]
        # a signed-in browser is not a public visitor
        other = app.test_client()
        login(other, make_user("enterprise"))
        assert all(other.get("/profile").status_code == 200 for _ in range(7))
    finally:
        app.config["CECP_RATELIMIT_PUBLIC"] = "120/minute"
        app.config["CECP_RATELIMIT_API"] = "600/minute"


def test_lockout_is_no_free_denial_of_service(app, client, make_user, db, limits):
    """Someone else's wrong passwords lock the account; the owner's way back is an
    administrator's unlock (tests/security/test_sessions.py) or the lock window, and the
    lock only ever shows to whoever proved the password."""
    user = make_user("enterprise")
    attacker = app.test_client()
    for _ in range(5):
        attacker.post("/api/v1/auth/token", json={"email": user.email, "password": "bad"})
    db.session.refresh(user)
    assert user.locked_until is not None
    r = attacker.post("/api/v1/auth/token", json={"email": user.email, "password": "bad"})
    assert r.status_code in (401, 429) and "锁定" not in r.get_data(as_text=True)


def _spy_argon2(monkeypatch):
    """Count password-hash verifications (the call goes through to the real argon2)."""
    from passlib.context import CryptContext

    calls = []
    real = CryptContext.verify

    def verify(self, secret, hash, *args, **kwargs):
        calls.append(str(hash).split("$")[1] if "$" in str(hash) else "?")
        return real(self, secret, hash, *args, **kwargs)

    monkeypatch.setattr(CryptContext, "verify", verify)
    return calls


def test_token_same_answer_and_same_work_for_unknown_account(client, make_user, monkeypatch):
    user = make_user("enterprise")
    calls = _spy_argon2(monkeypatch)
    unknown = client.post(
        "/api/v1/auth/token", json={"email": "nobody-x@t.cecp", "password": "whatever1"}
    )
    n_unknown = len(calls)
    wrong = client.post("/api/v1/auth/token", json={"email": user.email, "password": "whatever1"})
    n_wrong = len(calls) - n_unknown
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_json() == wrong.get_json()
    assert n_unknown == n_wrong == 1  # one argon2 verification each: the same time
    assert calls == ["argon2id", "argon2id"]


def test_token_does_not_reveal_a_right_password_before_the_second_factor(client, make_user):
    user = make_user("reviewer", region="330500")
    enrol_totp(user)
    right = client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    wrong = client.post("/api/v1/auth/token", json={"email": user.email, "password": "nope1"})
    assert right.status_code == wrong.status_code == 401
    assert right.get_json() == wrong.get_json()
    ok = client.post(
        "/api/v1/auth/token",
        json={"email": user.email, "password": PASSWORD, "code": totp_now(user)},
    )
    assert ok.status_code == 200


def test_rate_limit_hits_are_audited_once_per_minute(client, make_user, limits, db, app):
    from app.audit import refusals
    from app.db import utcnow

    app.config["CECP_RATELIMIT_PUBLIC"] = "2/minute"
    try:
        codes = [client.get("/auth/login").status_code for _ in range(12)]
    finally:
        app.config["CECP_RATELIMIT_PUBLIC"] = "120/minute"
    assert codes.count(429) == 10
    from datetime import timedelta

    refusals.flush(now=utcnow() + timedelta(minutes=2))
    db.session.commit()
    rows = db.session.scalars(
        select(AuditRecord).where(AuditRecord.action == "refused.ratelimit.hit")
    ).all()
    import json

    assert 1 <= len(rows) <= 2  # one per minute (two if the burst straddled a minute)
    assert sum(json.loads(r.summary)["count"] for r in rows) == 10
