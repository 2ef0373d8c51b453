"""Exchange workspace (R-6.5.2): webhook endpoints an exchange registers and the log of
their deliveries. Both belong to one organisation (its USCC) and are never shown beyond it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crypto.fields import EncryptedField
from app.db import UidMixin, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule

#: the events an exchange may subscribe to
EVENTS = {
    "lot.certified": "核证减排量批次进入本交易所（签发或首次转入本交易所账户）",
    "transfer.requested": "转入本交易所账户、待确认的转让",
}
DELIVERY_STATUSES = {"pending": "待发送", "retrying": "重试中", "delivered": "已送达",
                     "dead": "已放弃（超过最大次数）", "cancelled": "已取消（端点停用）"}


class WebhookEndpoint(db.Model, UidMixin):
    """An HTTPS endpoint of an exchange; the signing secret is stored encrypted (it must be
    recovered to sign) and shown once."""

    __tablename__ = "exchange_webhook"
    __scope__ = ScopeRule(institution="organisation_code")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_code: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    events: Mapped[str] = mapped_column(String(200), nullable=False)  # comma-separated
    secret_enc: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(255))

    secret = EncryptedField("secret_enc")

    @property
    def event_list(self) -> list[str]:
        return [e for e in self.events.split(",") if e]


class WebhookDelivery(db.Model, UidMixin):
    """One event for one endpoint: the exact body sent, and how its attempts went."""

    __tablename__ = "exchange_webhook_delivery"
    __scope__ = ScopeRule(via=("endpoint_id", WebhookEndpoint))
    __table_args__ = (UniqueConstraint("endpoint_id", "event_key",
                                       name="uq_webhook_delivery_event"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_webhook.id", ondelete="CASCADE"), index=True, nullable=False)
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    event_key: Mapped[str] = mapped_column(String(100), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending",
                                        index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    @property
    def status_label(self) -> str:
        return DELIVERY_STATUSES.get(self.status, self.status)
