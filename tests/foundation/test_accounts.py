"""R-5.2 account lifecycle: admin pages, soft delete, directory sync; secrets never shown."""

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.identity.models import User
from tests.conftest import enrol_totp, login


def _admin(client, make_user):
    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    return admin


def test_user_admin_never_shows_hash_or_uniquifier(client, make_user, db):
    _admin(client, make_user)
    other = make_user("enterprise")
    page = client.get("/admin/users/").get_data(as_text=True)
    assert other.email in page
    assert other.password not in page and other.fs_uniquifier not in page
    edit = client.get(f"/admin/users/edit/?id={other.id}").get_data(as_text=True)
    assert other.password not in edit and other.fs_uniquifier not in edit
    assert 'name="password"' not in edit and 'name="fs_uniquifier"' not in edit


def test_soft_delete_keeps_the_row_and_blocks_login(client, make_user, db):
    _admin(client, make_user)
    victim = make_user("enterprise")
    import re

    page = client.get("/admin/users/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = client.post("/admin/users/action/", data={"action": "soft_delete", "csrf_token": token,
                                                  "rowid": [str(victim.id)]})
    assert r.status_code in (200, 302)
    db.session.expire_all()
    row = db.session.get(User, victim.id)
    assert row is not None and row.deleted_at is not None and not row.active
    assert db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "user.delete")).one().object_id == str(victim.id)
    r = client.post("/api/v1/auth/token", json={"email": victim.email,
                                                "password": "Strong#Pass2026x"})
    assert r.status_code == 401


def test_directory_sync_is_idempotent_and_audited(client, make_user, auth, db):
    admin = make_user("admin")
    headers = auth(admin)
    body = {"email": "sync.user@t.cecp", "display_name": "同步用户", "roles": ["reviewer"],
            "scopes": [{"kind": "region", "code": "330500"}]}
    r1 = client.put("/api/v1/users/LDAP-0001", json=body, headers=headers)
    assert r1.status_code == 201, r1.get_json()
    r2 = client.put("/api/v1/users/LDAP-0001", json=body, headers=headers)
    assert r2.status_code == 200
    assert r1.get_json()["id"] == r2.get_json()["id"]
    body["scopes"] = [{"kind": "region", "code": "330000"}]
    body["active"] = False
    r3 = client.put("/api/v1/users/LDAP-0001", json=body, headers=headers)
    assert r3.get_json()["scopes"] == [{"kind": "region", "code": "330000"}]
    assert r3.get_json()["active"] is False
    actions = db.session.scalars(select(AuditRecord.action).where(
        AuditRecord.object_id == str(r1.get_json()["id"]))).all()
    assert actions.count("user.create") == 1
    assert "permission.scope_change" in actions and "user.disable" in actions


def test_directory_sync_rejects_bad_input_and_non_admins(client, make_user, auth):
    admin = make_user("admin")
    r = client.put("/api/v1/users/X", json={"email": "bad", "roles": ["nobody"]},
                   headers=auth(admin))
    assert r.status_code == 422
    assert {"email", "roles"} <= set(r.get_json()["error"]["fields"])
    ent = make_user("enterprise")
    r = client.put("/api/v1/users/X", json={"email": "x@t.cecp"}, headers=auth(ent))
    assert r.status_code == 403


def test_cli_users_create(app, reference):
    from app.cli import cli

    runner = app.test_cli_runner()
    r = runner.invoke(cli, ["users", "create", "cli.user@t.cecp", "--role", "reviewer",
                            "--region", "330500", "--password", "Qv82-lkd9#Tmw!"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["users", "create", "weak@t.cecp", "--role", "reviewer",
                            "--password", "password"])
    assert r.exit_code != 0 and "password" in r.output
