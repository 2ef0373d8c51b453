"""Many nodes, one configuration (issue 11, point 5): two real application processes on one
PostgreSQL database share keys through it. A field one encrypts the other decrypts, the
audit chain both write verifies, before and after `cecp keys rotate`, and records name the
key version they were chained with."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]


class Node:
    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.crypto.node_process"], cwd=ROOT, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        assert self._read(timeout=120) == {"ready": True}

    def _read(self, timeout: float) -> dict:
        if not self.sel.select(timeout=timeout):
            self.proc.kill()
            pytest.fail(f"node {self.name} did not answer: {self.proc.stderr.read()[-2000:]}")
        line = self.proc.stdout.readline()
        if not line:
            pytest.fail(f"node {self.name} exited: {self.proc.stderr.read()[-2000:]}")
        return json.loads(line)

    def __call__(self, op: str, **kw) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        answer = self._read(timeout=120)
        assert "error" not in answer, f"node {self.name}: {answer['error']}"
        return answer

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture()
def nodes(reference, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("many nodes share a PostgreSQL database")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CECP_")}
    env.update({k: os.environ[k] for k in ("CECP_SECRET_KEY", "CECP_MASTER_KEY",
                                           "CECP_PASSWORD_SALT", "CECP_TOTP_SECRET")})
    env.update(CECP_DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    started = []
    try:
        for name in ("a", "b"):  # each node its own instance/ directory, nothing shared
            started.append(Node(name, {**env, "CECP_INSTANCE_PATH": str(tmp_path / name)}))
        yield started
    finally:
        for node in started:
            node.close()


def _cli_verify(database_url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CECP_DATABASE_URL": database_url,
           "CECP_INSTANCE_PATH": str(tmp_path / "cli"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(Path(sys.executable).parent / "cecp"), "audit", "verify"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_two_nodes_share_keys_and_one_chain_across_a_rotation(nodes, db, database_url,
                                                              tmp_path):
    from app.audit.models import AuditRecord

    a, b = nodes
    first = a("put", email="a-user@t.cecp", phone="13800000001")["id"]
    assert b("get", id=first) == {"phone": "13800000001", "version": 1}
    second = b("put", email="b-user@t.cecp", phone="13900000002")["id"]
    assert a("get", id=second) == {"phone": "13900000002", "version": 1}
    a("audit", node="a", n=3)
    b("audit", node="b", n=3)
    assert a("verify") == b("verify") == {"problem": None}
    assert b("find", phone="13800000001") == {"ids": [first]}

    rotated = a("rotate")["counts"]
    assert rotated["User"] == 2
    # b cached data key 1 and the chain's key before; it reads the new ones from the database
    assert b("get", id=first) == {"phone": "13800000001", "version": 2}
    b("audit", node="b", n=2)
    a("audit", node="a", n=2)
    third = b("put", email="b-later@t.cecp", phone="13700000003")["id"]
    assert a("get", id=third) == {"phone": "13700000003", "version": 2}
    assert b("find", phone="13900000002") == {"ids": [second]}  # blind indexes unchanged
    assert a("verify") == b("verify") == {"problem": None}
    result = _cli_verify(database_url, tmp_path)
    assert result.returncode == 0, result.stderr

    db.session.expire_all()
    records = db.session.execute(select(AuditRecord.action, AuditRecord.key_version)
                                 .order_by(AuditRecord.seq)).all()
    rotate_at = [action for action, _ in records].index("keys.rotate")
    assert {v for _, v in records[:rotate_at]} == {1}
    assert {v for _, v in records[rotate_at:]} == {2}
    assert len([1 for action, _ in records if action == "node.event"]) == 10


def test_a_record_chained_under_a_missing_key_version_is_named(db):
    from sqlalchemy import text

    from app.audit import service as audit

    audit.record("test.one")
    audit.record("test.two")
    db.session.commit()
    db.session.execute(text("UPDATE audit_record SET key_version = 7 WHERE seq = 2"))
    db.session.commit()
    problem = audit.verify_chain()
    assert problem is not None and problem.seq == 2 and "密钥版本 7" in problem.message


def test_the_hmac_root_is_not_the_master_key(db):
    """The master key only wraps: the chain's and the blind indexes' keys derive from a root
    that is stored wrapped, not from the master key."""
    from app.crypto import keys
    from app.crypto.hashing import derive_key
    from app.crypto.models import HmacRoot

    master = keys.master_key()
    assert keys.purpose_key("bidx:user.phone") != derive_key(master, "bidx:user.phone")
    version = keys.active_hmac_version()
    assert keys.chain_key(version) != derive_key(master, "audit-chain")
    wrapped = db.session.get(HmacRoot, version).wrapped
    assert keys.hmac_root(version) not in wrapped and master != keys.hmac_root(version)[:16]
    assert keys.chain_key(keys.LEGACY_CHAIN) == derive_key(master, "audit-chain")


def test_legacy_records_keep_verifying_and_a_rotation_moves_the_chain_on(db, app):
    """A database upgraded from before HMAC roots: its head and records are on version 0
    (the master-derived key, hashed without a version); `cecp keys rotate` moves on."""
    import json

    from sqlalchemy import text

    from app.audit import service as audit
    from app.audit.models import AuditRecord
    from app.cli import cli
    from app.crypto import keys
    from app.crypto.hashing import derive_key, hmac_sm3

    audit.record("test.before.upgrade")
    db.session.commit()
    db.session.execute(text("UPDATE audit_head SET key_version = 0"))  # as migrated
    db.session.execute(text("UPDATE audit_record SET key_version = 0"))
    db.session.commit()
    assert audit.verify_chain() is not None  # record 1 was chained under root 1, not 0
    db.session.execute(text("DELETE FROM audit_record"))
    db.session.execute(text("UPDATE audit_head SET seq = 0, hash = :g"), {"g": "0" * 64})
    db.session.commit()
    audit.record("test.legacy", summary={"old": True})
    db.session.commit()
    legacy = db.session.scalars(select(AuditRecord)).one()
    assert legacy.key_version == 0
    body = {c: getattr(legacy, c) for c in ("seq", "user_id", "user_email", "ip",
                                            "user_agent", "action", "object_type",
                                            "object_id", "summary", "prev_hash")}
    body["ts"] = legacy.ts.isoformat(timespec="microseconds")
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert legacy.hash == hmac_sm3(derive_key(keys.master_key(), "audit-chain"),
                                   canonical.encode()).hex()  # the pre-upgrade formula

    result = app.test_cli_runner().invoke(cli, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    audit.record("test.after.rotation")
    db.session.commit()
    versions = {action: version for action, version in db.session.execute(
        select(AuditRecord.action, AuditRecord.key_version))}
    assert versions["test.legacy"] == 0
    assert versions["keys.rotate"] == versions["test.after.rotation"] >= 1
    verified = app.test_cli_runner().invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_a_rolled_back_rotation_leaves_no_key_in_the_cache(app, db, reference):
    """The keys a rolled-back rotation created are gone from the database: a node must not
    keep them cached, or the same versions made by another node would not decrypt here."""
    from app import create_app
    from app.audit import service as audit
    from app.crypto.rotation import rotate_data_keys
    from app.extensions import db as _db
    from app.identity import service as accounts
    from app.identity.models import User

    user = accounts.create(email="cache@t.cecp", password="Strong#Pass2026x",
                           roles=["enterprise"], phone="13600000006", check_policy=False)
    db.session.commit()
    uid = user.id
    rotate_data_keys()
    db.session.rollback()
    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "CECP_REDIS_URL": None})
    with other.app_context():  # another node rotates: the same versions, other secrets
        rotate_data_keys()
        _db.session.commit()
        _db.session.remove()
        _db.engine.dispose()
    db.session.expire_all()
    assert db.session.get(User, uid).phone == "13600000006"
    assert audit.verify_chain() is None
