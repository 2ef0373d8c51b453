"""Append-only audit records chained by HMAC-SM3."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigId
from app.extensions import db


class AuditRecord(db.Model):
    __tablename__ = "audit_record"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    ts: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_email: Mapped[str | None] = mapped_column(String(255), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    object_type: Mapped[str | None] = mapped_column(String(64), index=True)
    object_id: Mapped[str | None] = mapped_column(String(100), index=True)
    summary: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    #: the HMAC root version the record was chained with (0: the legacy master-derived key)
    key_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class AuditHead(db.Model):
    """The end of the chain (one row, id 1): the last seq and hash, and the key version new
    records are chained with. The append at commit claims it with ``UPDATE ... RETURNING``
    (the row lock serialises appends from there to the commit, and the read sees the latest
    committed head), and `verify_chain` checks that the records end there, so a deleted
    tail is caught as well."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    key_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class RefusalCount(db.Model):
    """Refused requests counted per minute, user, address and action (embedded mode; with
    Redis the counters live there). `app.audit.refusals` turns each finished window into one
    audit record, so a flood of refusals is a handful of records, not a flood."""

    __tablename__ = "refusal_count"
    window: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: anonymous
    ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sample: Mapped[str | None] = mapped_column(String(300))  # the first path refused
