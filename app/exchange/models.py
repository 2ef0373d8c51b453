"""Data exchange: machine clients, staging batches and their rejected rows, meters, readings
(partitioned by month on PostgreSQL), corrections, rollups and the exchange log.

`meter_reading` is declared with `postgresql_partition_by`: `db.create_all` and the migration
both make it a natively partitioned parent on PostgreSQL (a plain table on SQLite); its
monthly partitions are made at run time (`app.exchange.partitions`), never by a migration.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule
from app.orgs.models import Enterprise

BATCH_STATUSES = {
    "received": "已接收", "promoted": "已入库", "partial": "部分入库",
    "rejected": "已拒绝", "running": "处理中", "failed": "失败",
}
KIND_LABELS = {"readings": "计量读数", "energy": "月度能源数据", "meters": "计量表",
               "enterprises": "企业信息", "outputs": "产值数据"}
SOURCES = {"rest": "REST 接口", "soap": "Web Service", "file": "文件导入",
           "etl": "中间库同步", "form": "网页填报", "cli": "命令行"}


class MachineClient(db.Model):
    """A system (not a person) that exchanges data: its own account (a `user` row of class
    `machine` holding its data scope and a role with its permissions) and a hashed key."""

    __tablename__ = "machine_client"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), nullable=False, unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    # the organisation (its USCC) that manages this key itself, e.g. an exchange's own
    # administrator (`app.onboarding.exchange_keys`); None for platform-managed clients
    organisation_code: Mapped[str | None] = mapped_column(String(18), index=True)
    label: Mapped[str | None] = mapped_column(String(60))

    user = relationship("User")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ExchangeBatch(db.Model):
    """One inbound submission (any adapter). Visible to whoever submitted it and to
    platform administrators."""

    __tablename__ = "exchange_batch"
    __table_args__ = (UniqueConstraint("submitted_by_id", "idempotency_key",
                                       name="uq_exchange_batch_idem"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(12), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    client: Mapped[str | None] = mapped_column(String(80))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10), nullable=False, default="all")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="received")
    row_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    accepted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    inserted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    corrected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    message: Mapped[str | None] = mapped_column(Text)

    errors: Mapped[list[StagedRow]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="StagedRow.row_no")

    @property
    def status_label(self) -> str:
        return BATCH_STATUSES.get(self.status, self.status)


class ExchangeUpload(db.Model):
    """An uploaded file waiting for its import job (web nodes keep no local files)."""

    __tablename__ = "exchange_upload"
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_batch.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class StagedRow(db.Model):
    """A rejected row, kept with its original cells and its reasons (field -> message)."""

    __tablename__ = "exchange_row"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_batch.id", ondelete="CASCADE"), nullable=False, index=True)
    row_no: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False)       # JSON of the cells
    errors: Mapped[str] = mapped_column(Text, nullable=False)     # JSON {field: message}

    batch: Mapped[ExchangeBatch] = relationship(back_populates="errors")


class Meter(db.Model):
    """A meter of one enterprise. `multiplier` is the CT/PT ratio: energy = value x
    multiplier, in the meter's unit (converted to the energy type's unit when rolled up)."""

    __tablename__ = "meter"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), nullable=False,
                                               index=True)
    external_id: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(String(120))
    energy_type: Mapped[str] = mapped_column(ForeignKey("energy_type.code"), nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    multiplier: Mapped[Decimal] = mapped_column(Numeric(18, 6), nullable=False, default=1)
    source_system: Mapped[str | None] = mapped_column(String(60))
    installed_at: Mapped[datetime | None] = mapped_column(DateTime)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    enterprise: Mapped[Enterprise] = relationship()


class MeterReading(db.Model):
    """One value of one meter at one instant (UTC), in the meter's unit before the
    multiplier: the quantity measured over the interval that ends at `ts`."""

    __tablename__ = "meter_reading"
    __table_args__ = {"postgresql_partition_by": "RANGE (ts)"}
    meter_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    value: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    batch_id: Mapped[int | None] = mapped_column(BigInteger)


class ReadingCorrection(db.Model):
    """A stored reading replaced by a different value for the same (meter, ts)."""

    __tablename__ = "meter_reading_correction"
    __table_args__ = (Index("ix_meter_reading_correction_meter_ts", "meter_id", "ts"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meter_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ts: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    old_value: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    new_value: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    batch_id: Mapped[int | None] = mapped_column(BigInteger)
    corrected_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class MeterRollup(db.Model):
    """Sum (after the multiplier, in the meter's unit) per hour / day / month, bucketed in
    Beijing time (`bucket` is the local start)."""

    __tablename__ = "meter_rollup"
    meter_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resolution: Mapped[str] = mapped_column(String(6), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    total: Mapped[Decimal] = mapped_column(Numeric(24, 6), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    last_ts: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SourceChoice(db.Model):
    """Which source wins for an enterprise's item in the monthly account: `form` (the
    declared line) or `meter` (the sum of its meters)."""

    __tablename__ = "exchange_source_choice"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    __table_args__ = (UniqueConstraint("enterprise_id", "item",
                                       name="uq_exchange_source_choice"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), nullable=False)
    item: Mapped[str] = mapped_column(String(40), nullable=False)
    source: Mapped[str] = mapped_column(String(8), nullable=False, default="form")


class SyncState(db.Model):
    """The watermark of one intermediate-database mapping."""

    __tablename__ = "exchange_sync_state"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    watermark: Mapped[str | None] = mapped_column(String(64))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ExchangeLog(db.Model):
    """Every inbound and outbound exchange: who, which operation, counts, outcome, time."""

    __tablename__ = "exchange_log"
    __table_args__ = (Index("ix_exchange_log_at", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    direction: Mapped[str] = mapped_column(String(8), nullable=False, default="in")
    channel: Mapped[str] = mapped_column(String(12), nullable=False)
    operation: Mapped[str] = mapped_column(String(60), nullable=False)
    client: Mapped[str | None] = mapped_column(String(120))
    batch_id: Mapped[int | None] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)
