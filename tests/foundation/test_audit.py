"""R-5.4 audit log: chained HMAC-SM3; `cecp audit verify` finds tampering behind our back."""

import pytest
from sqlalchemy import select, text

from app.audit import service as audit
from app.audit.models import AuditRecord
from app.cli import cli


@pytest.fixture()
def chain(db):
    for i in range(6):
        audit.record("test.event", object_type="thing", object_id=i, summary={"i": i},
                     email="auditor@t.cecp")
    db.session.commit()
    return db


def _verify(app):
    return app.test_cli_runner().invoke(cli, ["audit", "verify"])


def test_intact_chain_verifies(app, chain):
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "6 条记录" in result.output


@pytest.mark.parametrize(("tamper", "named", "problem"), [
    ("UPDATE audit_record SET summary = '{\"i\": 99}' WHERE seq = 3", "seq=3", "被修改"),
    ("DELETE FROM audit_record WHERE seq = 4", "seq=5", "缺失"),
    # the newest records gone leave a consistent chain: the head shows they existed
    ("DELETE FROM audit_record WHERE seq >= 5", "seq=6", "末尾记录被删除"),
], ids=["changed", "deleted", "deleted-tail"])
def test_tampering_is_named(app, chain, tamper, named, problem):
    chain.session.execute(text(tamper))
    chain.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert named in result.output and problem in result.output


def test_inserted_row_is_named(app, chain):
    last = chain.session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
    # a forger who can write rows but does not hold the master key
    chain.session.execute(text(
        "INSERT INTO audit_record (seq, ts, action, prev_hash, hash) "
        "VALUES (:seq, :ts, 'forged', :prev, :h)"),
        {"seq": last.seq + 1, "ts": last.ts, "prev": last.hash, "h": "f" * 64})
    chain.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert f"seq={last.seq + 1}" in result.output and "伪造" in result.output


def test_reordered_insert_in_the_middle_is_named(app, chain):
    # shift later rows and slip a row in at seq 3 with a recomputed-looking (wrong) hash
    chain.session.execute(text("UPDATE audit_record SET seq = seq + 100 WHERE seq >= 3"))
    chain.session.execute(text(
        "INSERT INTO audit_record (seq, ts, action, prev_hash, hash) "
        "SELECT 3, ts, 'forged', hash, hash FROM audit_record WHERE seq = 2"))
    chain.session.commit()
    result = _verify(app)
    assert result.exit_code == 1 and "seq=3" in result.output


def test_records_carry_who_when_ip_agent(client, make_user, db):
    from tests.conftest import login

    user = make_user("enterprise")
    login(client, user)
    rec = db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "login.success")).one()
    assert rec.user_email == user.email and rec.ip and rec.user_agent and rec.ts


def test_admin_audit_search_and_csv_export(client, make_user, db):
    from tests.conftest import enrol_totp, login

    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    audit.record("enterprise.update", object_type="enterprise", object_id="X1",
                 email="someone@t.cecp")
    db.session.commit()
    page = client.get("/admin/audit_search/?action=enterprise.update")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "enterprise.update" in body and "login.success" not in body.split("audit-rows")[1]
    csv = client.get("/admin/audit_search/?action=enterprise.update&format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 2 and "enterprise.update" in lines[1]
    exports = db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "audit.export")).all()
    assert exports and exports[-1].user_email == admin.email


def test_concurrent_appends_chain_in_order(app, chain):
    """Two transactions appending at once: the second waits for the head and links after
    the first, so the chain stays one line."""
    import threading

    from app.extensions import db

    barrier = threading.Barrier(2)

    def append(n: int) -> None:
        with app.app_context():
            db.session.connection()
            barrier.wait()
            for i in range(5):
                audit.record("test.concurrent", summary={"worker": n, "i": i})
                db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert audit.verify_chain() is None
    assert chain.session.scalar(select(AuditRecord.seq).order_by(
        AuditRecord.seq.desc()).limit(1)) == 16
