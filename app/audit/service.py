"""Write and verify the audit chain.

Each record's hash is HMAC-SM3(chain key, canonical content + previous hash). The chain key
derives from an HMAC root that the master key wraps and that never sits in the database in
clear: whoever can write rows cannot forge a consistent chain. Each record names the root
version it was chained with, so rotating keys (`cecp keys rotate`) leaves the chain
verifiable.

`record` queues an entry in the caller's unit of work; the entries are chained and written
when it commits (`app.audit.chain`), so they commit with the change or not at all, and the
chain head is locked only for that final append.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_security import current_user
from sqlalchemy import select

from app.audit import chain
from app.audit.chain import GENESIS, compute_hash
from app.audit.models import AuditHead, AuditRecord
from app.crypto.keys import chain_key
from app.db import utcnow
from app.extensions import db

__all__ = ["GENESIS", "compute_hash", "record", "record_many", "use_key_version",
           "verify_chain", "search", "ChainProblem"]


def _actor(user: Any) -> tuple[int | None, str | None, Any]:
    """(id, email, object whose id is not known yet)."""
    if user is None and has_request_context():
        user = current_user
        if not getattr(user, "is_authenticated", False):
            return None, None, None
        user = user._get_current_object()
    if user is not None and getattr(user, "is_authenticated", True) and hasattr(user, "id"):
        if user.id is None:
            return None, getattr(user, "email", None), user
        return user.id, getattr(user, "email", None), None
    return None, None, None


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    summary: Any = None,
    user: Any = None,
    email: str | None = None,
) -> None:
    """Queue one record in the caller's unit of work; it is chained and written when the
    unit commits (and dropped if it rolls back)."""
    record_many([{"action": action, "object_type": object_type, "object_id": object_id,
                  "summary": summary, "user": user, "email": email}])


def record_many(entries: Iterable[dict[str, Any]]) -> int:
    """Queue several records, in order (one append at commit for all of them). Each entry
    holds the keyword arguments of `record` (``action`` required)."""
    ip = ua = None
    if has_request_context():
        # behind CECP_PROXY_HOPS proxies, ProxyFix has set remote_addr from the hops
        # they appended; a raw X-Forwarded-For is whatever the client wrote
        ip = (request.remote_addr or "")[:64] or None
        ua = (request.user_agent.string or "")[:300] or None
    rows = []
    for entry in entries:
        user_id, user_email, later = _actor(entry.get("user"))
        object_id, summary = entry.get("object_id"), entry.get("summary")
        rows.append({
            "ts": utcnow(),
            "user_id": user_id,
            "user_email": user_email or entry.get("email"),
            "_user": later,
            "ip": ip,
            "user_agent": ua,
            "action": entry["action"],
            "object_type": entry.get("object_type"),
            "object_id": None if object_id is None else str(object_id),
            "summary": None if summary is None else json.dumps(
                summary, sort_keys=True, ensure_ascii=False, default=str),
        })
    chain.queue(db.session(), rows)
    return len(rows)


def use_key_version(version: int) -> None:
    """Chain this unit's records, and every later one, with HMAC root `version` (the
    rotation's own record is the first under the new key)."""
    chain.move_to(db.session(), version)


@dataclass
class ChainProblem:
    seq: int | None
    id: int | None
    message: str

    def __str__(self) -> str:
        return f"审计记录 id={self.id} seq={self.seq}: {self.message}"


def verify_chain(batch: int = 5000) -> ChainProblem | None:
    """Walk the chain in order; return the first broken record, or None when intact. Each
    record is checked with the key version it names."""
    keys: dict[int, bytes] = {}
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
            if rec.key_version not in keys:
                try:
                    keys[rec.key_version] = chain_key(rec.key_version)
                except KeyError:
                    return ChainProblem(rec.seq, rec.id,
                                        f"密钥版本 {rec.key_version} 不存在 (无法校验)")
            if compute_hash(rec, keys[rec.key_version]) != rec.hash:
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
        stmt = stmt.where(AuditRecord.user_email.icontains(user, autoescape=True))
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
