"""The audit chain is appended at commit (issue 11, point 3): the chain head is locked only
for the final append, so concurrent audited writers keep one valid chain and a long unit of
work that has already audited something does not hold up anyone else's audit record."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from app.audit import service as audit
from app.audit.models import AuditRecord
from app.extensions import db as _db

_META = MetaData()
PROBE = Table("chain_probe", _META, Column("id", Integer, primary_key=True),
              Column("writer", Integer, nullable=False), Column("note", String(40)))


@pytest.fixture()
def probe(db):
    _META.create_all(db.engine)
    yield db
    db.session.rollback()
    _META.drop_all(db.engine)


def _seqs(db) -> list[int]:
    return list(db.session.scalars(select(AuditRecord.seq).order_by(AuditRecord.seq)))


def test_records_are_written_at_commit_and_the_head_is_the_last_write(probe, sql_log):
    with sql_log() as seen:
        audit.record("test.first", summary={"i": 1})
        probe.session.execute(insert(PROBE).values(id=1, writer=0))
        audit.record("test.second")
        probe.session.execute(insert(PROBE).values(id=2, writer=0))
        before_commit = len(seen)
        probe.session.commit()
    assert not [s for s in seen[:before_commit] if "audit_" in s]  # nothing until the commit
    writes = [s for s in seen if s.startswith(("INSERT", "UPDATE", "WITH"))]
    assert writes[-2].startswith("UPDATE audit_head SET seq")  # the claim, after the rows
    assert "INSERT INTO audit_record" in writes[-1]
    assert [r.action for r in probe.session.scalars(
        select(AuditRecord).order_by(AuditRecord.seq))] == ["test.first", "test.second"]
    assert audit.verify_chain() is None


def test_a_rollback_drops_the_queued_records(probe):
    audit.record("test.kept")
    nested = probe.session.begin_nested()
    audit.record("test.savepoint.gone")
    nested.rollback()
    with probe.session.begin_nested():
        audit.record("test.savepoint.kept")
    probe.session.commit()
    audit.record("test.rolled.back")
    probe.session.rollback()
    probe.session.commit()
    assert list(probe.session.scalars(select(AuditRecord.action).order_by(
        AuditRecord.seq))) == ["test.kept", "test.savepoint.kept"]
    assert audit.verify_chain() is None


def test_an_actor_created_in_the_unit_is_named_by_id(probe, reference):
    from app.identity import service as accounts

    user = accounts.create(email="new-actor@t.cecp", password="Strong#Pass2026x",
                           roles=["enterprise"], scopes=[], check_policy=False)
    audit.record("test.by_new_user", user=user)
    probe.session.commit()
    rec = probe.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "test.by_new_user")).one()
    assert rec.user_id == user.id and rec.user_email == "new-actor@t.cecp"


def test_eight_concurrent_audited_writers_keep_the_chain_valid(app, probe):
    writers, each = 8, 12
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with app.app_context():
                _db.session.connection()
                barrier.wait(timeout=30)
                for i in range(each):
                    _db.session.execute(insert(PROBE).values(id=n * 1000 + i, writer=n))
                    audit.record("test.concurrent", object_type="chain_probe",
                                 object_id=n * 1000 + i, summary={"writer": n, "i": i})
                    _db.session.commit()
                _db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert _seqs(probe) == list(range(1, writers * each + 1))
    assert probe.session.scalar(select(func.count()).select_from(PROBE)) == writers * each
    assert audit.verify_chain() is None
    from app.cli import cli

    result = app.test_cli_runner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_a_long_unit_with_audit_entries_does_not_hold_up_a_login(app, probe, client, make_user):
    """A recompute-like unit audits first and then keeps working with its transaction open;
    a login meanwhile commits its own audit record at once."""
    from tests.conftest import login

    user = make_user("enterprise")
    holding, release = threading.Event(), threading.Event()
    times: dict[str, float] = {}
    errors: list[BaseException] = []

    def long_unit() -> None:
        try:
            with app.app_context():
                audit.record("accounting.recompute", object_type="emission_factor",
                             object_id=1, summary={"periods": 12})
                _db.session.execute(insert(PROBE).values(id=1, writer=1, note="recompute"))
                _db.session.flush()
                holding.set()
                release.wait(timeout=60)  # still computing, transaction open
                _db.session.commit()
                times["long_committed"] = time.monotonic()
                _db.session.remove()
        except BaseException as exc:
            errors.append(exc)
            holding.set()

    def sign_in() -> None:
        try:
            with app.app_context():  # its own session, as a request on another node would
                response = login(client, user)
            times["login_done"] = time.monotonic()
            times["status"] = response.status_code
        except BaseException as exc:
            errors.append(exc)

    long_thread = threading.Thread(target=long_unit)
    long_thread.start()
    assert holding.wait(timeout=30)
    login_thread = threading.Thread(target=sign_in)
    login_thread.start()
    login_thread.join(timeout=20)
    finished_while_open = not login_thread.is_alive() and "long_committed" not in times
    release.set()
    login_thread.join(timeout=60)
    long_thread.join(timeout=60)
    assert not errors, errors
    assert finished_while_open, "the login waited for the long unit's commit"
    assert times["status"] in (302, 200) and times["login_done"] < times["long_committed"]
    actions = list(probe.session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))
    assert actions.index("login.success") < actions.index("accounting.recompute")
    assert audit.verify_chain() is None


def test_one_lock_order_a_sweep_and_an_audited_writer_never_deadlock(app, probe):
    """A sweep-like unit locks an instance row and audits; another unit audits first and
    then needs the same row. With the chain head claimed during the unit this deadlocks
    (head ↔ row); claimed at commit, the head is always the last lock: both commit."""
    from sqlalchemy import text, update

    probe.session.execute(insert(PROBE).values(id=1, writer=0, note="instance"))
    probe.session.commit()
    row_locked, audited = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            with app.app_context():
                _db.session.execute(update(PROBE).where(PROBE.c.id == 1).values(note="swept"))
                row_locked.set()
                audited.wait(timeout=30)
                audit.record("workflow.timer.fire", object_type="chain_probe", object_id=1)
                _db.session.commit()
                _db.session.remove()
        except BaseException as exc:
            errors.append(exc)
            row_locked.set()

    def writer() -> None:
        try:
            with app.app_context():
                row_locked.wait(timeout=30)
                _db.session.execute(text("SET LOCAL lock_timeout = '20s'"))
                audit.record("enterprise.update", object_type="chain_probe", object_id=1)
                audited.set()
                _db.session.execute(update(PROBE).where(PROBE.c.id == 1).values(note="edited"))
                _db.session.commit()
                _db.session.remove()
        except BaseException as exc:
            errors.append(exc)
            audited.set()

    threads = [threading.Thread(target=sweep), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors  # no deadlock detected, no lock timeout
    assert probe.session.scalar(select(PROBE.c.note).where(PROBE.c.id == 1)) == "edited"
    assert list(probe.session.scalars(select(AuditRecord.action).order_by(
        AuditRecord.seq))) == ["workflow.timer.fire", "enterprise.update"]
    assert audit.verify_chain() is None
