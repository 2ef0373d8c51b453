"""Deferred writes (`app.write_batch`): on PostgreSQL they go as one statement just before
the next statement or the commit, a rollback (whole or to a savepoint) drops them, and an
error in one fails the transaction as a whole; elsewhere each runs at once."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
)
from sqlalchemy.exc import IntegrityError

from app import write_batch

_META = MetaData()
PROBE = Table("write_batch_probe", _META, Column("id", Integer, primary_key=True),
              Column("name", String(20), nullable=False), Column("at", DateTime))
AT = datetime(2026, 11, 25, 8, 30, 0)


@pytest.fixture()
def probe(db):
    _META.create_all(db.engine)
    yield db
    db.session.rollback()
    _META.drop_all(db.engine)


def _rows(db) -> list[tuple]:
    return [tuple(r) for r in db.session.execute(
        select(PROBE.c.id, PROBE.c.name, PROBE.c.at).order_by(PROBE.c.id))]


def _defer_three(conn) -> None:
    write_batch.defer_insert(conn, "write_batch_probe", [
        {"id": 1, "name": "a", "at": AT}, {"id": 2, "name": "b", "at": None}])
    write_batch.defer_insert(conn, "write_batch_probe", [{"id": 3, "name": "c", "at": AT}])
    write_batch.defer(conn, "DELETE FROM write_batch_probe WHERE id IN "
                      + write_batch.in_list("id", 2), write_batch.list_params("id", [7, 8]))


def test_deferred_writes_are_one_statement_sent_before_the_next_read(probe, sql_log):
    conn = probe.session.connection()
    with sql_log() as seen:
        _defer_three(conn)
        if probe.engine.dialect.name == "postgresql":
            assert seen == [] and write_batch.pending(conn) == 3
        rows = _rows(probe)
    assert rows == [(1, "a", AT), (2, "b", None), (3, "c", AT)]
    writes = [s for s in seen if not s.startswith("SELECT")]
    if probe.engine.dialect.name == "postgresql":
        assert len(writes) == 1 and writes[0].startswith("WITH w0 AS (INSERT"), writes
        assert writes[0].count("w1_id_0") == 1  # each write's parameters kept apart
    else:
        assert len(writes) == 3
    assert write_batch.pending(conn) == 0


def test_commit_sends_and_rollback_drops(probe):
    _defer_three(probe.session.connection())
    probe.session.commit()
    assert len(_rows(probe)) == 3
    probe.session.commit()
    write_batch.defer(probe.session.connection(),
                      "DELETE FROM write_batch_probe WHERE id = :id", {"id": 1})
    probe.session.rollback()
    assert [r[0] for r in _rows(probe)] == [1, 2, 3]


def test_a_rolled_back_savepoint_drops_its_writes_only(probe):
    write_batch.defer_insert(probe.session.connection(), "write_batch_probe",
                             [{"id": 1, "name": "kept", "at": AT}])
    nested = probe.session.begin_nested()
    write_batch.defer_insert(probe.session.connection(), "write_batch_probe",
                             [{"id": 2, "name": "gone", "at": AT}])
    nested.rollback()
    probe.session.commit()
    assert [r[1] for r in _rows(probe)] == ["kept"]


def test_a_failing_write_fails_the_transaction_as_a_whole(probe):
    conn = probe.session.connection()
    write_batch.defer_insert(conn, "write_batch_probe", [{"id": 1, "name": "a", "at": AT}])
    with pytest.raises(IntegrityError):  # at the next statement (at once on SQLite)
        write_batch.defer_insert(conn, "write_batch_probe",
                                 [{"id": 2, "name": None, "at": AT}])
        _rows(probe)
    probe.session.rollback()
    assert _rows(probe) == []


def test_elsewhere_each_write_runs_at_once_and_keeps_datetimes(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/probe.db")
    _META.create_all(engine)
    with engine.begin() as conn:
        write_batch.defer_insert(conn, "write_batch_probe", [{"id": 1, "name": "a", "at": AT}])
        assert write_batch.pending(conn) == 0
        assert conn.execute(select(PROBE.c.at)).scalar_one() == AT
        assert conn.execute(select(PROBE.c.id).where(PROBE.c.at == AT)).scalar_one() == 1
    engine.dispose()


# -- containment (issue 11, point 8) ------------------------------------------------------


def test_a_failing_deferred_write_names_its_table_and_row(probe):
    if probe.engine.dialect.name != "postgresql":
        pytest.skip("deferred only on PostgreSQL")
    conn = probe.session.connection()
    write_batch.defer(conn, "DELETE FROM write_batch_probe WHERE id = :id", {"id": 9})
    write_batch.defer_insert(conn, "write_batch_probe", [
        {"id": 1, "name": "a", "at": AT}, {"id": 2, "name": None, "at": AT}])
    with pytest.raises(IntegrityError) as caught:  # still the kind callers catch
        _rows(probe)
    message = str(caught.value)
    assert "table write_batch_probe" in message
    assert "'id': 2" in message and "'name': None" in message  # the failing row, not row 1
    assert "'id': 1" not in message
    probe.session.rollback()


def test_a_duplicate_key_names_the_duplicate_row(probe):
    if probe.engine.dialect.name != "postgresql":
        pytest.skip("deferred only on PostgreSQL")
    write_batch.defer_insert(probe.session.connection(), "write_batch_probe",
                             [{"id": 5, "name": "first", "at": AT}])
    probe.session.commit()
    write_batch.defer_insert(probe.session.connection(), "write_batch_probe", [
        {"id": 4, "name": "fine", "at": AT}, {"id": 5, "name": "again", "at": AT}])
    with pytest.raises(IntegrityError, match=r"'id': 5, 'name': 'again'"):
        probe.session.commit()  # at the commit: the write is named there too
    probe.session.rollback()


def test_only_the_applications_engine_sends_deferred_writes(app, probe, database_url):
    """Another engine in the same process gets no listeners, and deferring on it is
    refused instead of silently losing the write."""
    from sqlalchemy import event

    from app.extensions import db

    assert event.contains(db.engine, "before_execute", write_batch._send_first)
    other = create_engine(database_url)
    try:
        assert not event.contains(other, "before_execute", write_batch._send_first)
        with other.connect() as conn:
            if other.dialect.name == "postgresql":
                assert not write_batch.installed(conn)
                with pytest.raises(RuntimeError, match="write_batch.install"):
                    write_batch.defer(conn, "DELETE FROM write_batch_probe", {})
    finally:
        other.dispose()


def test_write_batch_is_used_only_by_persistence_journal_and_audit():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "app"
    users = sorted(str(p.relative_to(root.parent)) for p in root.rglob("*.py")
                   if p.name != "write_batch.py" and re.search(
                       r"from app(\.write_batch)? import .*write_batch|from app\.write_batch "
                       r"import|import app\.write_batch", p.read_text()))
    assert users == ["app/__init__.py", "app/audit/chain.py", "app/workflow/journal.py",
                     "app/workflow/persistence.py"]
