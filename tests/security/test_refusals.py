"""Issue 16: refused access is audited, counted per minute, user, address and action, so a
flood of refusals is one record with its count (database counters in embedded mode, Redis
counters otherwise)."""

import json
from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.db import utcnow
from tests.conftest import login


def _refused(db):
    """action -> its records (a burst may straddle a minute: two records, counts add up)."""
    out = {}
    for r in db.session.scalars(
        select(AuditRecord).where(AuditRecord.action.like("refused.%")).order_by(AuditRecord.seq)
    ):
        out.setdefault(r.action, []).append(r)
    return out


def _count(rows):
    return sum(json.loads(r.summary)["count"] for r in rows)


def _flush(db):
    from app.audit import refusals

    n = refusals.flush(now=utcnow() + timedelta(minutes=2))
    db.session.commit()
    return n


def test_a_flood_of_403_and_scope_404_is_one_record_each(client, make_user, db):
    user = make_user("enterprise", enterprise="91330500MA2B00000X")
    login(client, user)
    for _ in range(50):
        assert client.get("/admin/").status_code == 403
    for _ in range(7):  # an enterprise outside the caller's scope
        assert client.get("/api/v1/enterprises/91330500MA2B99999X").status_code == 404
    assert client.get("/no-such-page").status_code == 404  # not a refusal: no route
    assert _refused(db) == {}  # nothing until the minute is over
    assert 2 <= _flush(db) <= 4
    rows = _refused(db)
    assert _count(rows["refused.access.denied"]) == 50 and len(rows["refused.access.denied"]) <= 2
    denied = rows["refused.access.denied"][0]
    assert json.loads(denied.summary)["sample"] == "/admin/" and denied.user_id == user.id
    assert _count(rows["refused.access.not_found"]) == 7
    assert _flush(db) == 0  # flushed windows are gone


def test_csrf_refusals_and_locked_logins_are_counted(app, client, make_user, db):
    user = make_user("enterprise")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        app.config["WTF_CSRF_ENABLED"] = False
        login(client, user)
        app.config["WTF_CSRF_ENABLED"] = True
        # a cross-site form: no token
        assert client.post("/auth/logout").status_code == 200  # the confirmation page
        r = client.post("/workflow/instances/1/attachments", data={})
        assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    client.post("/auth/logout")
    db.session.refresh(user)
    user.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    for _ in range(4):
        client.post("/auth/login", data={"email": user.email, "password": "Strong#Pass2026x"})
    _flush(db)
    rows = _refused(db)
    assert _count(rows["refused.csrf.refused"]) == 2
    assert _count(rows["refused.login.locked"]) == 4
    assert rows["refused.login.locked"][0].user_id == user.id


def test_counters_in_redis(app, redis_url, make_user, db):
    from app.audit import refusals

    app.config["CECP_REDIS_URL"] = redis_url
    try:
        with app.test_request_context("/x", environ_base={"REMOTE_ADDR": "10.0.0.9"}):
            for _ in range(25):
                refusals.note("access.denied", path="/x")
        import redis as redis_lib

        r = redis_lib.Redis.from_url(redis_url)
        assert list(r.scan_iter(match=app.config["CECP_QUEUE_PREFIX"] + ":refusals:*"))
        assert _flush(db) in (1, 2)
        assert _flush(db) == 0
    finally:
        app.config["CECP_REDIS_URL"] = None
    rows = _refused(db)["refused.access.denied"]
    assert _count(rows) == 25 and rows[0].object_id == "10.0.0.9"


def test_flush_runs_as_a_periodic_job(app):
    from app.jobs import periodic

    assert "audit.refusals" in periodic.PERIODIC
