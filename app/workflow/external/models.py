"""One row per external service task waiting for a worker (derived from the blob, like the
inbox rows); the lock, retries and the last failure live only here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db
from app.workflow.models import CASE_SCOPE


class ExternalTask(db.Model):
    """An external task: scoped like its case (region, enterprise) for machine workers."""

    __tablename__ = "workflow_external_task"
    __scope__ = CASE_SCOPE
    __table_args__ = (Index("ix_workflow_external_task_topic", "topic", "lock_expires_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the Spiff task id
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_instance.id", ondelete="CASCADE"), nullable=False, index=True
    )
    topic: Mapped[str] = mapped_column(String(200), nullable=False)
    activity_id: Mapped[str] = mapped_column(String(200), nullable=False)
    activity_name: Mapped[str] = mapped_column(String(300), nullable=False)
    process_key: Mapped[str] = mapped_column(String(100), nullable=False)
    region_code: Mapped[str | None] = mapped_column(String(12))
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18))
    variables: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    worker_id: Mapped[str | None] = mapped_column(String(200))
    lock_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    retries: Mapped[int | None] = mapped_column(Integer)  # None: not failed yet
    retry_at: Mapped[datetime | None] = mapped_column(DateTime)
    error_message: Mapped[str | None] = mapped_column(String(2000))
    error_details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    instance = relationship("ProcessInstance")

    @property
    def incident(self) -> bool:
        """No retries left: an administrator must look (the instance is in error)."""
        return self.retries == 0
