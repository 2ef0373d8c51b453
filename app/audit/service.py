"""Write and verify the audit chain.

Each record's hash is HMAC-SM3(audit key, canonical content + previous hash). The key is
derived from the master key, which never sits in the database: whoever can write rows
cannot forge a consistent chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import has_request_context, request
from flask_security import current_user
from sqlalchemy import bindparam, insert, select, update

from app import write_batch
from app.audit.models import AuditHead, AuditRecord
from app.crypto.hashing import hmac_sm3
from app.crypto.keys import purpose_key
from app.db import utcnow
from app.extensions import db

GENESIS = "0" * 64
_HEAD = AuditHead.__table__
_CLAIM = (update(_HEAD).where(_HEAD.c.id == 1)
          .values(seq=_HEAD.c.seq + bindparam("n")).returning(_HEAD.c.seq, _HEAD.c.hash))


def _canonical(rec: Any) -> bytes:
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
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(rec: Any, key: bytes | None = None) -> str:
    return hmac_sm3(key or purpose_key("audit-chain"), _canonical(rec)).hex()


def _actor(user: Any) -> tuple[int | None, str | None]:
    if user is None and has_request_context():
        user = current_user
    if user is not None and getattr(user, "is_authenticated", True) and hasattr(user, "id"):
        return user.id, getattr(user, "email", None)
    return None, None


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    summary: Any = None,
    user: Any = None,
    email: str | None = None,
) -> int:
    """Append one record in the caller's transaction (it commits with the change); returns
    its seq."""
    rows = _chained([{"action": action, "object_type": object_type, "object_id": object_id,
                      "summary": summary, "user": user, "email": email}])
    _append(rows)
    return rows[0]["seq"]


def record_many(entries: Iterable[dict[str, Any]]) -> int:
    """Append several records in the caller's transaction, in order: one claim of the head
    and one statement writing the records and the new head (no ORM objects are made).
    Each entry holds the keyword arguments of `record` (``action`` required)."""
    rows = _chained(list(entries))
    _append(rows)
    return len(rows)


def _claim(n: int) -> tuple[int, str]:
    """Reserve n seqs at the head of the chain; returns the last seq and hash before them.
    The head row stays locked until the transaction ends."""
    db.session.flush()  # the caller's pending changes first: the lock is held until commit
    conn = db.session.connection()
    row = conn.execute(_CLAIM, {"n": n}).first()
    if row is None:  # a new database: the head starts where the records end
        last = conn.execute(select(AuditRecord.seq, AuditRecord.hash)
                            .order_by(AuditRecord.seq.desc()).limit(1)).first()
        values = {"id": 1, "seq": last.seq if last else 0,
                  "hash": last.hash if last else GENESIS}
        if conn.dialect.name == "postgresql":  # a concurrent first append may win: fine
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(_HEAD).values(values).on_conflict_do_nothing()
        else:
            stmt = insert(_HEAD).values(values).prefix_with("OR IGNORE")
        conn.execute(stmt)
        row = conn.execute(_CLAIM, {"n": n}).one()
    return row.seq - n, row.hash


_COLUMNS = ("seq", "ts", "user_id", "user_email", "ip", "user_agent", "action", "object_type",
            "object_id", "summary", "prev_hash", "hash")
_SET_HASH = "UPDATE audit_head SET hash = :h WHERE id = 1"


def _append(rows: list[dict[str, Any]]) -> None:
    """Write the records and move the head's hash to the last one (one statement on
    PostgreSQL: `app.write_batch`)."""
    if not rows:
        return
    conn = db.session.connection()
    write_batch.defer(conn, write_batch.insert_sql("audit_record", _COLUMNS, len(rows)),
                      write_batch.insert_params(_COLUMNS, rows))
    write_batch.defer(conn, _SET_HASH, {"h": rows[-1]["hash"]})
    write_batch.flush(conn)


def _chained(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The column values of the new records, linked after the head of the chain."""
    if not entries:
        return []
    seq, prev_hash = _claim(len(entries))
    ip = ua = None
    if has_request_context():
        ip = request.headers.get("X-Forwarded-For", request.remote_addr or "")[:64] or None
        ua = (request.user_agent.string or "")[:300] or None
    key = purpose_key("audit-chain")
    rows = []
    for entry in entries:
        user_id, user_email = _actor(entry.get("user"))
        object_id, summary = entry.get("object_id"), entry.get("summary")
        seq += 1
        row = {
            "seq": seq,
            "ts": utcnow(),
            "user_id": user_id,
            "user_email": user_email or entry.get("email"),
            "ip": ip,
            "user_agent": ua,
            "action": entry["action"],
            "object_type": entry.get("object_type"),
            "object_id": None if object_id is None else str(object_id),
            "summary": None if summary is None else json.dumps(
                summary, sort_keys=True, ensure_ascii=False, default=str),
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = compute_hash(SimpleNamespace(**row), key)
        rows.append(row)
    return rows


@dataclass
class ChainProblem:
    seq: int | None
    id: int | None
    message: str

    def __str__(self) -> str:
        return f"审计记录 id={self.id} seq={self.seq}: {self.message}"


def verify_chain(batch: int = 5000) -> ChainProblem | None:
    """Walk the chain in order; return the first broken record, or None when intact."""
    key = purpose_key("audit-chain")
    prev_hash, expected_seq, last_id = GENESIS, 1, None
    offset_seq = 0
    while True:
        rows = db.session.scalars(
            select(AuditRecord).where(AuditRecord.seq > offset_seq)
            .order_by(AuditRecord.seq).limit(batch)
        ).all()
        if not rows:
            return _check_head(prev_hash, expected_seq - 1, last_id)
        for rec in rows:
            if rec.seq != expected_seq:
                missing = "缺失 (被删除)" if rec.seq > expected_seq else "序号重复"
                return ChainProblem(rec.seq, rec.id,
                                    f"序号应为 {expected_seq}，记录 {missing}")
            if last_id is not None and rec.id < last_id:
                return ChainProblem(rec.seq, rec.id, "记录顺序与写入顺序不符 (被插入)")
            if rec.prev_hash != prev_hash:
                return ChainProblem(rec.seq, rec.id, "前一记录的哈希不匹配 (链被断开)")
            if compute_hash(rec, key) != rec.hash:
                return ChainProblem(rec.seq, rec.id, "内容与哈希不符 (记录被修改或伪造)")
            prev_hash, expected_seq, last_id = rec.hash, rec.seq + 1, rec.id
        offset_seq = rows[-1].seq
        db.session.expunge_all()


def _check_head(last_hash: str, last_seq: int, last_id: int | None) -> ChainProblem | None:
    head = db.session.get(AuditHead, 1)
    if head is None:
        return None if last_seq == 0 else ChainProblem(
            None, None, "链头记录缺失 (audit_head 被删除)")
    if head.seq != last_seq or head.hash != last_hash:
        return ChainProblem(head.seq, last_id,
                            f"链头为 seq={head.seq}，记录止于 seq={last_seq} "
                            "(末尾记录被删除或链头被篡改)")
    return None


def search(*, user: str | None = None, action: str | None = None,
           object_type: str | None = None, object_id: str | None = None,
           start: datetime | None = None, end: datetime | None = None):
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc())
    if user:
        stmt = stmt.where(AuditRecord.user_email.ilike(f"%{user}%"))
    if action:
        stmt = stmt.where(AuditRecord.action == action)
    if object_type:
        stmt = stmt.where(AuditRecord.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditRecord.object_id == object_id)
    if start:
        stmt = stmt.where(AuditRecord.ts >= start)
    if end:
        stmt = stmt.where(AuditRecord.ts <= end)
    return stmt
