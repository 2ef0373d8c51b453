"""Scope entries cannot widen scope (issue 11, point 6): a region is a GB/T 2260 code of the
national list, an enterprise a USCC with the right check character, wherever a scope is
granted (API, admin form, CLI, service); refusals are audited; LIKE patterns are escaped so
even a stored '%' matches nothing; the audit's client address comes from the configured
number of trusted proxies, never from a raw X-Forwarded-For."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.identity import service as accounts
from app.identity.datascope import check_entry
from app.identity.models import User, UserScope
from app.identity.scope import DataScope, scoped_select
from app.orgs.models import Enterprise
from app.refdata.uscc import make_uscc
from tests.conftest import enrol_totp, login

GOOD_USCC = make_uscc("91330522MA2B00007")
BAD_USCC = GOOD_USCC[:17] + ("0" if GOOD_USCC[17] != "0" else "1")


@pytest.mark.parametrize("code", ["%", "33%", "33", "3305_0", " 330%00", "330599", "999999"])
def test_region_entries_that_would_widen_scope_are_refused(code):
    with pytest.raises(ValueError) as err:
        check_entry("region", code)
    assert "行政区划" in str(err.value)


def test_valid_entries_are_normalised():
    assert check_entry("region", " 330500 ") == "330500"
    assert check_entry("region", "441900") == "441900"  # 东莞: from the full national list
    assert check_entry("enterprise", GOOD_USCC.lower()) == GOOD_USCC
    with pytest.raises(ValueError, match="校验位"):
        check_entry("enterprise", BAD_USCC)
    with pytest.raises(ValueError, match="通配符"):
        check_entry("institution", "PI-%")
    assert check_entry("verification_body", "vb-zj-001") == "VB-ZJ-001"


def test_service_refuses_before_writing(reference):
    with pytest.raises(accounts.AccountError) as err:
        accounts.create(email="wide@t.cecp", password="x", roles=["reviewer"],
                        scopes=[("region", "330500"), ("region", "33%")], check_policy=False)
    assert err.value.field == "scopes.1.code" and "33%" in err.value.message
    assert accounts.get_by_email(email="wide@t.cecp") is None


def test_directory_sync_names_the_entry_and_audits_the_refusal(client, make_user, auth, db):
    admin = make_user("admin")
    body = {"email": "sync.wide@t.cecp", "roles": ["reviewer"],
            "scopes": [{"kind": "region", "code": "330500"}, {"kind": "region", "code": "%"}]}
    r = client.put("/api/v1/users/LDAP-WIDE", json=body, headers=auth(admin))
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    assert "scopes.1.code" in err["fields"] and "不接受通配符" in err["message"]
    db.session.expire_all()
    assert accounts.get_by_email(email="sync.wide@t.cecp") is None
    refusal = db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "permission.refused")).one()
    assert refusal.summary and "LDAP-WIDE" in str(refusal.summary)
    body["scopes"] = [{"kind": "enterprise", "code": BAD_USCC}]
    r = client.put("/api/v1/users/LDAP-WIDE", json=body, headers=auth(admin))
    assert r.status_code == 422 and "校验位" in r.get_json()["error"]["message"]


def test_cli_refuses_a_wildcard_region(app, reference):
    from app.cli import cli

    r = app.test_cli_runner().invoke(cli, ["users", "create", "cli.wide@t.cecp", "--role",
                                           "reviewer", "--region", "33%",
                                           "--password", "Qv82-lkd9#Tmw!"])
    assert r.exit_code != 0 and "33%" in r.output and "行政区划" in r.output
    assert accounts.get_by_email(email="cli.wide@t.cecp") is None


def test_admin_form_refuses_and_keeps_the_old_scope(client, make_user, db):
    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    user = make_user("reviewer", region="330500")
    page = client.get(f"/admin/users/edit/?id={user.id}").get_data(as_text=True)
    form = page[page.index('name="email"') - 3000:page.index('name="email"')]
    token = re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', form)[-1]
    for text in ("region:33%", "33%", f"enterprise:{BAD_USCC}"):
        r = client.post(f"/admin/users/edit/?id={user.id}", data={
            "csrf_token": token, "email": user.email, "user_class": user.user_class,
            "active": "y", "role_names": ["reviewer"], "scope_text": text,
            "new_password": ""}, follow_redirects=True)
        assert r.status_code == 200
        assert "不能授予" in r.get_data(as_text=True) or "应写作" in r.get_data(as_text=True)
        db.session.expire_all()
        assert [(s.kind, s.code) for s in db.session.get(User, user.id).scopes] == [
            ("region", "330500")]
    assert len(db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "permission.refused")).all()) == 3
    r = client.post(f"/admin/users/edit/?id={user.id}", data={
        "csrf_token": token, "email": user.email, "user_class": user.user_class,
        "active": "y", "role_names": ["reviewer"], "scope_text": "region:330000，region:320500",
        "new_password": ""}, follow_redirects=True)
    db.session.expire_all()
    assert sorted(s.code for s in db.session.get(User, user.id).scopes) == ["320500", "330000"]


def test_a_stored_wildcard_matches_nothing(reference):
    """Defence in depth: a '%' or '3_' that reached the table (before this check) is
    escaped in the LIKE and matches only itself."""
    db = reference
    db.session.add(Enterprise(uscc=GOOD_USCC, name="长兴甲企业", region_code="330522"))
    db.session.flush()
    for code in ("%", "3_", "33%"):
        assert list(db.session.scalars(scoped_select(Enterprise, DataScope(region=(code,))))) == []
    assert [e.uscc for e in db.session.scalars(
        scoped_select(Enterprise, DataScope(region=("330000",))))] == [GOOD_USCC]
    # and a stored row of that kind, read through the user's grants, still sees nothing
    user = accounts.create(email="legacy@t.cecp", password="x", roles=["reviewer"],
                           check_policy=False)
    db.session.add(UserScope(user_id=user.id, kind="region", code="%"))
    db.session.commit()
    from app.identity.grants import scope_for

    db.session.expire_all()
    scope = scope_for(db.session.get(User, user.id))
    assert list(db.session.scalars(scoped_select(Enterprise, scope))) == []


def _failed_login_ip(app, db, email, **environ):
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": "wrong-Pass#1"},
                environ_base=environ.pop("environ_base"), headers=environ)
    db.session.expire_all()
    row = db.session.scalars(select(AuditRecord).where(
        AuditRecord.action.like("login.%")).order_by(AuditRecord.seq.desc())).first()
    assert row is not None
    return row.ip


def test_audit_ip_ignores_a_raw_forwarded_header(app, db, make_user):
    """No trusted proxy (the default): X-Forwarded-For is the client's own writing."""
    assert app.config["CECP_PROXY_HOPS"] == 0
    ip = _failed_login_ip(app, db, make_user("reviewer").email,
                          environ_base={"REMOTE_ADDR": "10.1.1.1"},
                          **{"X-Forwarded-For": "6.6.6.6"})
    assert ip == "10.1.1.1"


def test_audit_ip_from_one_trusted_proxy(app, db, make_user):
    from app import create_app

    email = make_user("reviewer").email
    proxied = create_app({**{k: app.config[k] for k in (
        "TESTING", "SQLALCHEMY_DATABASE_URI", "CECP_REDIS_URL", "CECP_QUEUE_PREFIX",
        "WTF_CSRF_ENABLED", "SECRET_KEY", "CECP_MASTER_KEY")}, "CECP_PROXY_HOPS": 1})
    with proxied.app_context():
        from app.extensions import db as pdb

        # the client wrote 6.6.6.6; the one proxy appended the address it saw
        ip = _failed_login_ip(proxied, pdb, email, environ_base={"REMOTE_ADDR": "10.0.0.2"},
                              **{"X-Forwarded-For": "6.6.6.6, 203.0.113.7"})
        assert ip == "203.0.113.7"
        pdb.session.remove()
        pdb.engine.dispose()
