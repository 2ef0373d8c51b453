"""A user's messages (reminders, escalations): list, count unread, mark read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from app.audit import service as audit
from app.cases.models import Notification
from app.db import utcnow
from app.extensions import db


def unread_count(user: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def get_all(*, user: Any, limit: int = 200) -> list[Notification]:
    """Newest first; only the caller's own messages, never another user's."""
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_all_read(*, user: Any) -> int:
    n = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())).rowcount or 0
    if n:
        audit.record("notification.read", object_type="user", object_id=user.id,
                     summary={"count": n})
    return n
