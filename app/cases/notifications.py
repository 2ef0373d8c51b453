"""A user's messages: written for every event that concerns the user (assigned, returned
with the comments, approved, published, deadline near, overdue), counted unread for the
navigation badge, marked read; per-user preferences (muted kinds, e-mail copy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from app.audit import service as audit
from app.cases import mailer
from app.cases.models import Notification, NotificationPreference
from app.db import utcnow
from app.extensions import db
from app.i18n import known

#: kind -> label (the preferences page lists them in this order)
KINDS = {
    "assigned": "新待办",
    "returned": "被退回",
    "approved": "审核通过",
    "published": "已发布",
    "reminder": "到期提醒",
    "overdue": "已超期",
    "escalation": "超期升级",
}


#: the messages are stored in Chinese as written; a page in English recognises them by these
#: msgids (app.i18n.known) and shows them translated, so write messages only through them
RETURNED = "「%(title)s」被退回，请修改后重新送审。审核意见：%(comment)s"
ESCALATED = "「%(title)s」上一环节已超期，现转由您%(task)s。"
ASSIGNED = "「%(title)s」待您%(task)s。"
APPROVED = "「%(title)s」已审核通过，进入%(task)s。"
PUBLISHED = "「%(title)s」已终审通过并发布（%(period)s）。"
COMPLETED = "「%(title)s」已办结。"
DUE_SOON = "「%(title)s」的%(task)s即将到期，请及时办理。"
known(RETURNED, ESCALATED, ASSIGNED, APPROVED, PUBLISHED, COMPLETED, DUE_SOON)


def unread_count(user: Any) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def get_all(*, user: Any, limit: int = 200) -> list[Notification]:
    """Newest first; only the caller's own messages, never another user's."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_all_read(*, user: Any) -> int:
    n = (
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        ).rowcount
        or 0
    )
    if n:
        audit.record(
            "notification.read", object_type="user", object_id=user.id, summary={"count": n}
        )
    return n


def get_preferences(*, user_id: int) -> NotificationPreference:
    """The user's preferences (a transient default when none were saved)."""
    pref = db.session.get(NotificationPreference, user_id)
    return pref or NotificationPreference(user_id=user_id, email_enabled=False, muted_kinds="")


def update_preferences(*, user: Any, email_enabled: bool, muted: list[str]) -> None:
    unknown = sorted(set(muted) - set(KINDS))
    if unknown:
        raise ValueError(f"未知的消息类型: {', '.join(unknown)}")
    pref = db.session.get(NotificationPreference, user.id)
    if pref is None:
        pref = NotificationPreference(user_id=user.id)
        db.session.add(pref)
    pref.email_enabled = bool(email_enabled)
    pref.muted_kinds = ",".join(sorted(set(muted)))
    pref.updated_at = utcnow()
    audit.record(
        "notification.preferences",
        object_type="user",
        object_id=user.id,
        summary={"email": pref.email_enabled, "muted": sorted(set(muted))},
    )


def notify(*, user: Any, kind: str, message: str, instance_id: int | None = None) -> bool:
    """One message to one user unless the user muted the kind; an e-mail copy when the user
    asked for it and an SMTP server is configured. Returns whether a message was written."""
    pref = get_preferences(user_id=user.id)
    if kind in (pref.muted_kinds or "").split(","):
        return False
    db.session.add(
        Notification(user_id=user.id, instance_id=instance_id, kind=kind, message=message[:500])
    )
    if pref.email_enabled and user.email:
        mailer.send(
            to=user.email, subject=f"[工业碳效码平台] {KINDS.get(kind, '消息')}", body=message
        )
    return True
