"""Model helpers shared by every domain package."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

#: 64-bit keys on PostgreSQL; SQLite only auto-increments an INTEGER primary key
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_uid() -> str:
    return uuid.uuid4().hex


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class UidMixin:
    """A stable row key known before INSERT; encrypted fields bind to it as associated data."""

    uid: Mapped[str] = mapped_column(String(32), default=new_uid, unique=True, nullable=False)

    def ensure_uid(self) -> str:
        if not self.uid:
            self.uid = new_uid()
        return self.uid
