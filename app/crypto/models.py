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
    """An SM2 signing key pair; the private key is SM4-encrypted by a data key.

    `name` is the key id documents name (`platform` for the platform's own key). Keys of
    organisations (a verification body signs its statements) carry their owner and a
    certificate: a token signed by the platform key over the key id, owner and public key
    (`app.crypto.signing.create_org_key`)."""

    __tablename__ = "platform_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    public_key_hex: Mapped[str] = mapped_column(String(130), nullable=False)
    private_key_enc: Mapped[str] = mapped_column(Text, nullable=False)
    owner_type: Mapped[str | None] = mapped_column(String(40))
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    certificate: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
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
