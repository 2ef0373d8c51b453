"""Cached grants (roles, permissions, data scope) follow every change of them: the user
row's authorization stamp moves in the same flush, so no request reads stale grants."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.identity import service as accounts
from app.identity.grants import grants_for
from app.identity.models import Role, User, UserScope
from app.identity.scope import scope_for


def _next_request(db) -> None:
    """What a new request sees: nothing loaded (roles and scopes are not in memory)."""
    db.session.commit()
    db.session.expire_all()


def test_cached_grants_skip_the_role_and_scope_queries(db, make_user, sql_log):
    user = make_user("reviewer", region="330500")
    wanted = "case.review" in db.session.scalar(
        select(Role).where(Role.name == "reviewer")).permissions
    _next_request(db)
    assert scope_for(user).region == ("330500",)  # read once: fills the cache
    _next_request(db)
    with sql_log() as seen:
        assert scope_for(user).region == ("330500",)
        assert ("case.review" in grants_for(user).permissions) == wanted
        assert "reviewer" in grants_for(user).roles
    assert len(seen) == 1 and "FROM user" in seen[0].replace('"', ""), seen  # the user row


def test_scope_change_moves_the_stamp_and_the_scope(db, make_user):
    user = make_user("reviewer", region="330500")
    _next_request(db)
    before = user.authz_stamp
    assert scope_for(user).region == ("330500",)
    accounts.set_scopes(user, [("region", "330100")])
    _next_request(db)
    assert user.authz_stamp == before + 1
    assert scope_for(user).region == ("330100",)


def test_role_change_moves_the_stamp(db, make_user):
    user = make_user("reviewer", region="330500")
    _next_request(db)
    assert grants_for(user).roles == {"reviewer"}
    accounts.set_roles(user, ["approver"])
    _next_request(db)
    assert grants_for(user).roles == {"approver"}


def test_role_permission_change_reaches_every_holder(db, make_user):
    a = make_user("reviewer", region="330500")
    b = make_user("reviewer", region="330100")
    other = make_user("approver", region="330000")
    _next_request(db)
    stamps = {u.id: u.authz_stamp for u in (a, b, other)}
    assert "cecp.test-permission" not in grants_for(a).permissions
    role = db.session.scalar(select(Role).where(Role.name == "reviewer"))
    role.permissions = [*role.permissions, "cecp.test-permission"]
    _next_request(db)
    assert a.authz_stamp == stamps[a.id] + 1 and b.authz_stamp == stamps[b.id] + 1
    assert other.authz_stamp == stamps[other.id]
    assert "cecp.test-permission" in grants_for(a).permissions
    assert "cecp.test-permission" in grants_for(b).permissions


def test_a_change_made_by_another_process_is_seen(db, make_user):
    """Another worker process (its own session and cache) changes the scope: this
    process's cached grants are not used any more, because the stamp moved."""
    user = make_user("reviewer", region="330500")
    _next_request(db)
    assert scope_for(user).region == ("330500",)
    with Session(db.engine) as other:
        theirs = other.get(User, user.id)
        theirs.scopes = [UserScope(kind="region", code="330100")]
        other.commit()
    _next_request(db)
    assert scope_for(user).region == ("330100",)


def test_role_change_is_audited_before_any_flush(db, make_user):
    """set_roles compares the roles before and after in memory: the cached grants must not
    hide the unflushed change (it would skip the audit record)."""
    from app.audit.models import AuditRecord

    user = make_user("reviewer", region="330500")
    _next_request(db)
    assert grants_for(user).roles == {"reviewer"}  # fills the cache
    _next_request(db)  # the next request reads the roles from the cache
    accounts.set_roles(user, ["approver"])
    db.session.commit()
    last = db.session.scalar(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
    assert last.action == "permission.role_change", last.action
