"""Key material stored in the database, always wrapped or encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db


class DataKey(db.Model):
    __tablename__ = "data_key"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class PlatformKey(db.Model):
    """The platform's SM2 key pair; the private key is SM4-encrypted by a data key."""

    __tablename__ = "platform_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    public_key_hex: Mapped[str] = mapped_column(String(130), nullable=False)
    private_key_enc: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class HmacRoot(db.Model):
    """A root for HMAC-SM3 sub-keys (audit chain, blind indexes, seals), wrapped by the
    master key like a data key but never the same secret: the master key only wraps.
    Versioned: the audit chain moves to a new root on rotation, each record naming its
    version; version 1 stays the root of the keys that must never change (blind indexes)."""

    __tablename__ = "hmac_root"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
