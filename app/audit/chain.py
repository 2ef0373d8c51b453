"""The audit chain's append: entries are queued in the unit of work and chained at commit.

Why at commit: the chain head is one row, and whoever holds its lock holds up every other
audited write on the platform until it commits. Claimed during a unit of work (a recompute,
an import, a sweep), it would serialise the platform behind that unit. Claimed in the
session's ``before_commit``, it is the last lock a transaction takes and is held only for
the append and the commit itself. So the lock order is the same in every transaction, the
sweeps' included: instance row → derived rows → chain head.

A savepoint rolled back drops the entries queued inside it; a rollback drops them all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from app import write_batch
from app.audit.models import AuditHead, AuditRecord
from app.crypto.hashing import hmac_sm3
from app.crypto.keys import active_hmac_version, chain_key
from app.extensions import db

GENESIS = "0" * 64
_QUEUE = "cecp_audit_queue"  # session.info: entries waiting for the commit
_MARKS = "cecp_audit_marks"  # session.info: savepoint -> queue length when it began
_MOVE_TO = "cecp_audit_key_version"  # session.info: move the chain to this key version

_HEAD = AuditHead.__table__
_CLAIM = (update(_HEAD).where(_HEAD.c.id == 1)
          .values(seq=_HEAD.c.seq + bindparam("n"))
          .returning(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.key_version))
_CLAIM_MOVING = (update(_HEAD).where(_HEAD.c.id == 1)
                 .values(seq=_HEAD.c.seq + bindparam("n"), key_version=bindparam("kv"))
                 .returning(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.key_version))
_COLUMNS = ("seq", "ts", "user_id", "user_email", "ip", "user_agent", "action", "object_type",
            "object_id", "summary", "prev_hash", "hash", "key_version")
_SET_HASH = "UPDATE audit_head SET hash = :h WHERE id = 1"


def canonical(rec: Any) -> bytes:
    body = {
        "seq": rec.seq,
        "ts": rec.ts.isoformat(timespec="microseconds"),
        "user_id": rec.user_id,
        "user_email": rec.user_email,
        "ip": rec.ip,
        "user_agent": rec.user_agent,
        "action": rec.action,
        "object_type": rec.object_type,
        "object_id": rec.object_id,
        "summary": rec.summary,
        "prev_hash": rec.prev_hash,
    }
    if rec.key_version:  # legacy records (version 0) were hashed without it
        body["key_version"] = rec.key_version
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(rec: Any, key: bytes) -> str:
    return hmac_sm3(key, canonical(rec)).hex()


def queue(session: Session, entries: list[dict[str, Any]]) -> None:
    """Queue ready-made entries (the record columns but seq, hashes and key version; a
    ``_user`` object whose id was not known yet is resolved at the append)."""
    if not session.in_transaction():  # so that a rollback, even before any SQL, drops them
        session.begin()
    session.info.setdefault(_QUEUE, []).extend(entries)


def queued(session: Session) -> int:
    return len(session.info.get(_QUEUE) or ())


def move_to(session: Session, version: int) -> None:
    session.info[_MOVE_TO] = version


# -- the session's events ------------------------------------------------------------------


@event.listens_for(db.session, "before_commit")
def _append_at_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint's release: the entries stay queued
        return
    entries = session.info.pop(_QUEUE, None)
    session.info.pop(_MARKS, None)
    move = session.info.pop(_MOVE_TO, None)
    if entries:
        append(session, entries, move_to=move)


@event.listens_for(db.session, "after_transaction_create")
def _mark(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[transaction] = queued(session)


@event.listens_for(db.session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    marks = session.info.get(_MARKS) or {}
    if previous.nested and previous in marks:
        del session.info.get(_QUEUE, [])[marks.pop(previous):]


@event.listens_for(db.session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (appended) or rolled back: nothing waits
        for key in (_QUEUE, _MARKS, _MOVE_TO):
            session.info.pop(key, None)


# -- the append --------------------------------------------------------------------------


def append(session: Session, entries: list[dict[str, Any]], *,
           move_to: int | None = None) -> None:
    """Claim the head, chain the entries after it and write them with the new head (one
    statement on PostgreSQL: `app.write_batch`). The head stays locked until the commit
    that follows at once."""
    session.flush()  # the unit's own rows first: the chain head is the last lock taken
    conn = session.connection()
    seq, prev_hash, version = _claim(conn, len(entries), move_to)
    key = chain_key(version)
    rows = []
    for entry in entries:
        seq += 1
        row = {c: entry.get(c) for c in _COLUMNS}
        user = entry.get("_user")
        if user is not None:  # an actor created in this unit: its id exists now
            row["user_id"], row["user_email"] = user.id, row["user_email"] or user.email
        row.update(seq=seq, prev_hash=prev_hash, key_version=version)
        row["hash"] = prev_hash = compute_hash(SimpleNamespace(**row), key)
        rows.append(row)
    write_batch.defer(conn, write_batch.insert_sql("audit_record", _COLUMNS, len(rows)),
                      write_batch.insert_params(_COLUMNS, rows))
    write_batch.defer(conn, _SET_HASH, {"h": rows[-1]["hash"]})
    write_batch.flush(conn)


def _claim(conn: Any, n: int, move_to: int | None) -> tuple[int, str, int]:
    """Reserve n seqs at the head; returns the last seq and hash before them and the key
    version to chain with. The head row stays locked until the transaction ends."""
    params: Mapping[str, Any] = {"n": n} if move_to is None else {"n": n, "kv": move_to}
    stmt = _CLAIM if move_to is None else _CLAIM_MOVING
    row = conn.execute(stmt, params).first()
    if row is None:  # a new database: the head starts where the records end
        last = conn.execute(select(AuditRecord.seq, AuditRecord.hash)
                            .order_by(AuditRecord.seq.desc()).limit(1)).first()
        values = {"id": 1, "seq": last.seq if last else 0,
                  "hash": last.hash if last else GENESIS,
                  "key_version": move_to or active_hmac_version()}
        if conn.dialect.name == "postgresql":  # a concurrent first append may win: fine
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            head = pg_insert(_HEAD).values(values).on_conflict_do_nothing()
        else:
            head = insert(_HEAD).values(values).prefix_with("OR IGNORE")
        conn.execute(head)
        row = conn.execute(stmt, params).one()
    return row[0] - n, row[1], row[2]
