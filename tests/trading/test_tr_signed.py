"""Signed ledger movements (SM2 over a canonical record) and exchanges as machine clients:
an exchange's client sees only its own account, confirms transfers into it, audited."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.trading import ledger
from app.trading.models import Movement
from tests.conftest import login  # noqa: F401  (fixtures of the package)


def _world(make_ent, make_project, db):
    a = make_ent(1)
    pa = make_project(a, code="PVA")
    acc_a = ledger.holding_account(enterprise=a)
    x1 = ledger.exchange_account(institution_code="EXCH01", name="甲交易所")
    x2 = ledger.exchange_account(institution_code="EXCH02", name="乙交易所")
    lot = ledger.issue(project=pa, vintage=2025, quantity=100, to_account=acc_a)
    db.session.commit()
    return a, pa, acc_a, x1, x2, lot


def test_movements_signed_and_tamper_fails(client, make_ent, make_user, make_project, auth,
                                           db, tmp_path):
    a, pa, acc_a, x1, x2, lot = _world(make_ent, make_project, db)
    ha = auth(make_user("enterprise", enterprise=a.uscc))
    r = client.post("/api/v1/assets/transfers", headers=ha, json={
        "lot": lot.id, "from_account": acc_a.code, "to_account": x1.code, "quantity": 30})
    assert r.status_code == 201, r.get_json()
    mv_id = r.get_json()["movements"][0]["id"]
    assert r.get_json()["movements"][0]["signature"]
    out = client.get(f"/api/v1/assets/movements/{mv_id}", headers=ha).get_json()
    assert out["signature_valid"] is True
    assert out["record"]["serial_start"] == "PVA-2025-000000001"
    assert out["record"]["credit"] == x1.code and out["record"]["quantity"] == 30
    issue_mv = db.session.scalar(select(Movement).where(Movement.kind == "issue"))
    assert ledger.verify_movement(issue_mv)
    # the signature verifies with OpenSSL over the canonical record too
    exe = shutil.which("openssl")
    if exe:
        (tmp_path / "pub.pem").write_text(out["public_key_pem"])
        (tmp_path / "rec.json").write_bytes(out["canonical"].encode())
        (tmp_path / "sig.der").write_bytes(bytes.fromhex(out["signature"]))
        args = [exe, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
                "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
                "-in", str(tmp_path / "rec.json"), "-sigfile", str(tmp_path / "sig.der")]
        assert subprocess.run(args, capture_output=True, timeout=60).returncode == 0
    # tampering with the stored row (quantity, serials or counter-account) breaks it
    mv = db.session.get(Movement, mv_id)
    mv.quantity = 31
    db.session.commit()
    assert ledger.verify_movement(mv) is False
    assert client.get(f"/api/v1/assets/movements/{mv_id}",
                      headers=ha).get_json()["signature_valid"] is False
    mv.quantity, mv.credit_account_id = 30, x2.id
    db.session.commit()
    assert ledger.verify_movement(mv) is False
    mv.credit_account_id = x1.id
    db.session.commit()
    assert ledger.verify_movement(mv) is True
    mv.signature = "zz"
    assert ledger.verify_movement(mv) is False


@pytest.fixture()
def exchange_client(reference):
    from app.exchange import clients

    def _make(name: str, institution: str) -> dict:
        _, key = clients.create(name=name, institutions=[institution],
                                permissions=["exchange.read", "transfers.confirm"])
        reference.session.commit()
        return {"X-API-Key": key}

    return _make


def test_exchange_client_isolation_and_confirmation(client, make_ent, make_user, make_project,
                                                    auth, db, exchange_client):
    a, pa, acc_a, x1, x2, lot = _world(make_ent, make_project, db)
    ha = auth(make_user("enterprise", enterprise=a.uscc))
    k1, k2 = exchange_client("exch01", "EXCH01"), exchange_client("exch02", "EXCH02")
    for to, qty in ((x1, 30), (x2, 20)):
        r = client.post("/api/v1/assets/transfers", headers=ha, json={
            "lot": lot.id, "from_account": acc_a.code, "to_account": to.code, "quantity": qty})
        assert r.status_code == 201
    mv1 = db.session.scalar(select(Movement).where(Movement.credit_account_id == x1.id))
    mv2 = db.session.scalar(select(Movement).where(Movement.credit_account_id == x2.id))
    # each exchange sees its own account and holdings only
    assert [x["code"] for x in client.get("/api/v1/assets/accounts",
                                          headers=k1).get_json()] == [x1.code]
    h = client.get(f"/api/v1/assets/accounts/{x1.code}/holdings", headers=k1).get_json()
    assert h["balance"] == 30 and h["holdings"][0]["serial_start"] == "PVA-2025-000000001"
    assert client.get(f"/api/v1/assets/accounts/{x2.code}/holdings",
                      headers=k1).status_code == 404
    assert client.get(f"/api/v1/assets/accounts/{acc_a.code}/holdings",
                      headers=k1).status_code == 404
    assert client.get(f"/api/v1/assets/accounts/{x2.code}/incoming",
                      headers=k1).status_code == 404
    assert client.get(f"/api/v1/assets/movements/{mv2.id}", headers=k1).status_code == 404
    inc = client.get(f"/api/v1/assets/accounts/{x1.code}/incoming", headers=k1).get_json()
    assert [m["record"]["id"] for m in inc] == [mv1.id] and inc[0]["confirmed_at"] is None
    # exchange 1 cannot confirm exchange 2's transfer; the enterprise cannot confirm either
    assert client.post(f"/api/v1/assets/movements/{mv2.id}/confirm",
                       headers=k1).status_code == 404
    r = client.post(f"/api/v1/assets/movements/{mv1.id}/confirm", headers=ha)
    assert r.status_code == 403
    r = client.post(f"/api/v1/assets/movements/{mv1.id}/confirm", headers=k1)
    assert r.status_code == 200 and r.get_json()["confirmed_by"] == "exch01"
    assert r.get_json()["signature_valid"] is True  # confirmation is not part of the record
    again = client.post(f"/api/v1/assets/movements/{mv1.id}/confirm", headers=k1).get_json()
    assert again["confirmed_at"] == r.get_json()["confirmed_at"]  # idempotent
    actions = [x.action for x in db.session.scalars(select(AuditRecord).where(
        AuditRecord.action.like("trading.confirm%"))).all()]
    assert actions.count("trading.confirm") == 1 and actions.count("trading.confirm_refused") == 1
    # exchange 2 still sees only its own, unconfirmed transfer
    inc2 = client.get(f"/api/v1/assets/accounts/{x2.code}/incoming", headers=k2).get_json()
    assert [m["record"]["id"] for m in inc2] == [mv2.id] and inc2[0]["confirmed_at"] is None
