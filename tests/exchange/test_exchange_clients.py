"""Machine clients: own accounts, hashed keys, scope like any user, revocable, audited."""

from __future__ import annotations

from sqlalchemy import select


def test_cli_creates_client_prints_key_once_and_revokes(app, make_ent, client):
    from app.audit.models import AuditRecord
    from app.cli import cli
    from app.exchange.models import MachineClient
    from app.extensions import db

    ent = make_ent(1)
    runner = app.test_cli_runner()
    out = runner.invoke(cli, ["clients", "create", "erp-1", "--enterprise", ent.uscc,
                              "--scope", "readings.write", "--scope", "enterprise.read"])
    assert out.exit_code == 0, out.output
    key = out.output.strip().splitlines()[-1]
    assert key.startswith("cecp_")
    row = db.session.scalar(select(MachineClient).where(MachineClient.name == "erp-1"))
    assert key not in (row.key_hash, row.key_prefix) and len(row.key_hash) == 64
    assert row.user.user_class == "machine"
    r = client.get("/api/v1/meters", headers={"X-API-Key": key})
    assert r.status_code == 200, r.get_json()
    r = client.get(f"/api/v1/enterprises/{ent.uscc}", headers={"X-API-Key": key})
    assert r.status_code == 200

    out = runner.invoke(cli, ["clients", "revoke", "erp-1"])
    assert out.exit_code == 0, out.output
    r = client.get("/api/v1/meters", headers={"X-API-Key": key})
    assert r.status_code == 401
    actions = set(db.session.scalars(select(AuditRecord.action)))
    assert {"machine_client.create", "machine_client.revoke",
            "machine_client.auth_failure"} <= actions


def test_bad_key_refused_and_audited(client, energy_ref):
    from app.audit.models import AuditRecord
    from app.extensions import db

    for key in ("nonsense", "cecp_deadbeef.wrong"):
        r = client.get("/api/v1/meters", headers={"X-API-Key": key})
        assert r.status_code == 401
    n = db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "machine_client.auth_failure")).all()
    assert len(n) == 2


def test_client_scope_filters_like_a_user(client, make_ent, make_client):
    a, b = make_ent(1), make_ent(2, region="330100")
    headers = make_client("erp-a", enterprises=[a.uscc])
    r = client.get("/api/v1/enterprises", headers=headers)
    assert r.status_code == 200
    usccs = {e["uscc"] for e in r.get_json()}
    assert usccs == {a.uscc}
    assert client.get(f"/api/v1/enterprises/{b.uscc}", headers=headers).status_code == 404
    regional = make_client("grid-hz", regions=["330100"])
    r = client.get("/api/v1/enterprises", headers=regional)
    assert {e["uscc"] for e in r.get_json()} == {b.uscc}


def test_permissions_come_from_scope_option(client, make_ent, make_client):
    a = make_ent(1)
    reader = make_client("reader", enterprises=[a.uscc], permissions=["enterprise.read"])
    r = client.post("/api/v1/readings", headers=reader, json={"readings": []})
    assert r.status_code == 403


def test_create_refuses_bad_input(make_ent):
    import pytest

    from app.exchange import clients

    a = make_ent(1)
    with pytest.raises(clients.ClientError) as e:
        clients.create(name="x y", enterprises=[a.uscc])
    assert e.value.field == "name"
    with pytest.raises(clients.ClientError) as e:
        clients.create(name="admin-ish", enterprises=[a.uscc], permissions=["admin.access"])
    assert e.value.field == "scope"
    with pytest.raises(clients.ClientError) as e:
        clients.create(name="nobody")
    assert e.value.field == "scope"
