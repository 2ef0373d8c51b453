"""Workflow persistence: model versions (once per content hash), instances (serialized state
with an optimistic-lock version), materialised ready human tasks (the inbox), history,
timers, message subscriptions and encrypted attachments.

Why the tables look like this (see ARCHITECTURE.md, "Workflow state"): the instance blob is
SpiffWorkflow's serializer output without specs; `version` guards every write
(``UPDATE ... WHERE version = :v``); ready human tasks are copied into `workflow_task` with the
case's region, enterprise and lane so that an inbox is one indexed query.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UidMixin, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule

#: A case's parties: its enterprise and region, and (when assigned) a verification body or
#: an institution; a verifier's scope reaches a case only through its body's column.
CASE_SCOPE = ScopeRule(region="region_code", enterprise="enterprise_uscc",
                       verification_body="verification_body_code", institution="institution_code")
STATUSES = {"running": "进行中", "completed": "已完成", "error": "异常", "withdrawn": "已撤回"}


class ProcessModel(db.Model):
    """A deployable process (its BPMN process id is the key); versions hold the files."""

    __tablename__ = "workflow_model"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    latest_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    versions: Mapped[list[ProcessModelVersion]] = relationship(
        back_populates="model", order_by="ProcessModelVersion.version.desc()")


class ProcessModelVersion(db.Model):
    """One deployed content: BPMN, DMN and form files as JSON ``{name: text}``."""

    __tablename__ = "workflow_model_version"
    __table_args__ = (UniqueConstraint("model_id", "version"),
                      UniqueConstraint("model_id", "content_hash",
                                       name="uq_workflow_model_version_hash"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("workflow_model.id"), nullable=False,
                                          index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    files: Mapped[str] = mapped_column(Text, nullable=False)
    flavor: Mapped[str] = mapped_column(String(12), nullable=False, default="spiff")
    deployed_by: Mapped[str | None] = mapped_column(String(200))
    deployed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    model: Mapped[ProcessModel] = relationship(back_populates="versions")


class ProcessInstance(db.Model):
    """A running case: serialized workflow + optimistic-lock version + case attributes."""

    __tablename__ = "workflow_instance"
    __scope__ = CASE_SCOPE
    # Every step rewrites the row: index only what rarely changes (status, not updated_at)
    # and leave room on the page, so the UPDATE stays HOT (no index maintenance).
    __table_args__ = (Index("ix_workflow_instance_status", "status"),
                      {"postgresql_with": {"fillfactor": "70"}})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("workflow_model.id"), nullable=False,
                                          index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("workflow_model_version.id"),
                                            nullable=False)
    process_key: Mapped[str] = mapped_column(String(100), nullable=False)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # of its version (cache key)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="running")
    blob: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    verification_body_code: Mapped[str | None] = mapped_column(String(18), index=True)
    institution_code: Mapped[str | None] = mapped_column(String(18))
    initiator_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)

    model: Mapped[ProcessModel] = relationship()
    model_version: Mapped[ProcessModelVersion] = relationship()

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)


class WorkTask(db.Model):
    """A READY human task (materialised from the blob after every step); id = Spiff task id.

    Candidates: users whose roles include `lane` and whose data scope covers the case's
    region or enterprise; no lane = the initiator. `assignee_id` is set by claim.
    """

    __tablename__ = "workflow_task"
    __scope__ = CASE_SCOPE
    __table_args__ = (
        Index("ix_workflow_task_lane_region", "lane", "region_code",
              postgresql_ops={"region_code": "varchar_pattern_ops"}),
        Index("ix_workflow_task_lane_enterprise", "lane", "enterprise_uscc"),
        Index("ix_workflow_task_initiator", "initiator_id", "lane"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_instance.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    lane: Mapped[str | None] = mapped_column(String(40))
    form_kind: Mapped[str] = mapped_column(String(10), nullable=False, default="generic")
    form_name: Mapped[str | None] = mapped_column(String(100))
    process_key: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    region_code: Mapped[str | None] = mapped_column(String(6))
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18))
    verification_body_code: Mapped[str | None] = mapped_column(String(18), index=True)
    institution_code: Mapped[str | None] = mapped_column(String(18))
    initiator_id: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    instance: Mapped[ProcessInstance] = relationship()

    @property
    def overdue(self) -> bool:
        return self.due_at is not None and self.due_at < utcnow()


class TaskHistory(db.Model):
    """What happened in a case: who did what, when, with which data (the timeline)."""

    __tablename__ = "workflow_history"
    __scope__ = ScopeRule(via=("instance_id", ProcessInstance))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_instance.id", ondelete="CASCADE"), nullable=False, index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    task_name: Mapped[str | None] = mapped_column(String(100))
    label: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_label: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class TimerSchedule(db.Model):
    """A waiting timer of an instance; the rq job and the sweep fire it when due."""

    __tablename__ = "workflow_timer"
    __table_args__ = (UniqueConstraint("instance_id", "task_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_instance.id", ondelete="CASCADE"), nullable=False)
    task_id: Mapped[str] = mapped_column(String(36), nullable=False)
    name: Mapped[str | None] = mapped_column(String(100))
    fire_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)


class MessageWait(db.Model):
    """An instance waiting for a named message (routing index for messages between cases)."""

    __tablename__ = "workflow_message_wait"
    __table_args__ = (UniqueConstraint("instance_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_instance.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False, index=True)


class Attachment(db.Model, UidMixin):
    """Evidence file of a case, SM4-GCM encrypted; the AAD binds it to its row (uid)."""

    __tablename__ = "workflow_attachment"
    __scope__ = ScopeRule(via=("instance_id", ProcessInstance))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_instance.id", ondelete="CASCADE"), nullable=False, index=True)
    task_name: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(120), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)  # SM3 of the plaintext
    key_version: Mapped[int] = mapped_column(Integer, nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    uploaded_by: Mapped[int | None] = mapped_column(Integer)
    uploaded_by_label: Mapped[str | None] = mapped_column(String(200))
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
