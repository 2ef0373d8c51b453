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
from sqlalchemy import insert, select, text

from app.audit.models import AuditRecord
from app.crypto.hashing import hmac_sm3
from app.crypto.keys import purpose_key
from app.db import utcnow
from app.extensions import db

GENESIS = "0" * 64
_LOCK_ID = 7_240_514  # PostgreSQL advisory lock serialising appends
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_LAST = select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
_INSERT = insert(AuditRecord.__table__)


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
) -> AuditRecord:
    """Append one record in the caller's transaction (it commits with the change)."""
    [row] = _chained([{"action": action, "object_type": object_type, "object_id": object_id,
                       "summary": summary, "user": user, "email": email}])
    rec = AuditRecord(**row)
    db.session.add(rec)
    db.session.flush()
    return rec


def record_many(entries: Iterable[dict[str, Any]]) -> int:
    """Append several records in the caller's transaction, in order: one lock, one read of
    the last hash and one multi-row INSERT for all of them (no ORM objects are made).
    Each entry holds the keyword arguments of `record` (``action`` required)."""
    rows = _chained(list(entries))
    if rows:
        db.session.connection().execute(_INSERT, rows)
    return len(rows)


def _chained(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The column values of the new records: lock the chain (until the transaction ends),
    read its last hash and link the records after it."""
    if not entries:
        return []
    db.session.flush()  # the caller's pending changes first: the lock is held until commit
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"k": _LOCK_ID})
    last = conn.execute(_LAST).first()
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS)
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
            return None
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
