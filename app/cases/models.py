"""The domain side of workflow cases: published report figures and notifications.

`ReportPublication` is what "the report's figures become the published carbon account for
that period" means until accounting has a notion of publication of its own: a snapshot of
the current `carbon_account` rows (ids, versions, totals) taken at final approval. A later
publication for the same enterprise and period supersedes it (`is_current`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db
from app.identity.scope import ScopeRule


class ReportPublication(db.Model):
    __tablename__ = "case_report_publication"
    __scope__ = ScopeRule(region="region_code", enterprise="enterprise_uscc")
    __table_args__ = (Index("ix_case_report_publication_key", "enterprise_uscc", "period_key",
                            "is_current"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("workflow_instance.id"), nullable=False,
                                             index=True)
    enterprise_uscc: Mapped[str] = mapped_column(String(18), nullable=False)
    region_code: Mapped[str | None] = mapped_column(String(6))
    period_key: Mapped[str] = mapped_column(String(8), nullable=False)  # 2026 | 2026-03
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    month: Mapped[int | None] = mapped_column(Integer)
    co2_total: Mapped[str] = mapped_column(String(40), nullable=False)     # Decimal as text
    energy_tce: Mapped[str | None] = mapped_column(String(40))
    value_added: Mapped[str | None] = mapped_column(String(40))
    intensity: Mapped[str | None] = mapped_column(String(40))
    figures: Mapped[str] = mapped_column(Text, nullable=False)  # JSON: months, account ids
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    published_by: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Notification(db.Model):
    """A message to one user (reminders, escalations); shown in the inbox."""

    __tablename__ = "case_notification"
    __table_args__ = (Index("ix_case_notification_user", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                         nullable=False)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_instance.id",
                                                               ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    message: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class NotificationPreference(db.Model):
    """What a user wants to hear about and how (no row: every kind in the platform, no
    e-mail)."""

    __tablename__ = "case_notification_preference"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                         primary_key=True)
    email_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    muted_kinds: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
