"""Reduction projects and the carbon asset ledger (R-6.3).

The ledger is double-entry: every movement moves a serial range from one account to another
(issue: from the issuance account; retire / cancel: to the retirement / cancellation
account). Blocks hold the current position: the blocks of a lot partition its serial range,
so a serial is always in exactly one place, and a balance is the sum of an account's blocks.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import TimestampMixin, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule
from app.orgs.models import Enterprise, Region

PROJECT_TYPES = {
    "photovoltaic": "光伏发电", "wind": "风力发电", "hydro": "水力发电",
    "biomass": "生物质发电", "efficiency": "节能技术改造", "fuel_switch": "燃料替代",
}
PROJECT_STATUSES = {"registered": "已登记", "operating": "运行中", "closed": "已关闭"}
ACCOUNT_KINDS = {
    "holding": "持有账户", "exchange": "交易所账户", "issuance": "签发账户",
    "retirement": "注销（抵销）账户", "cancellation": "作废账户",
}
SYSTEM_KINDS = ("issuance", "retirement", "cancellation")
MOVEMENT_KINDS = {"issue": "签发", "transfer": "转让", "retire": "注销抵销", "cancel": "作废"}
REPORT_STATUSES = {
    "draft": "草稿", "submitted": "已提交", "verified": "已核查", "certified": "已核证",
    "rejected": "已退回",
}


class Project(db.Model, TimestampMixin):
    __tablename__ = "trading_project"
    __scope__ = ScopeRule(region="region_code", enterprise="enterprise_uscc")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    enterprise_uscc: Mapped[str] = mapped_column(ForeignKey("enterprise.uscc"), index=True,
                                                 nullable=False)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True,
                                             nullable=False)
    location: Mapped[str | None] = mapped_column(String(300))
    capacity_mw: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    commissioned_on: Mapped[date | None] = mapped_column(Date)
    grid_connected_on: Mapped[date | None] = mapped_column(Date)
    generation_meter: Mapped[str | None] = mapped_column(String(64))
    ongrid_meter: Mapped[str | None] = mapped_column(String(64))
    own_use_meter: Mapped[str | None] = mapped_column(String(64))
    methodology: Mapped[str] = mapped_column(String(40), nullable=False)
    crediting_start: Mapped[date | None] = mapped_column(Date)
    crediting_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="registered")

    enterprise: Mapped[Enterprise] = relationship()
    region: Mapped[Region] = relationship()


class Account(db.Model, TimestampMixin):
    __tablename__ = "trading_account"
    __scope__ = ScopeRule(region="region_code", enterprise="enterprise_uscc",
                          institution="institution_code")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    enterprise_uscc: Mapped[str | None] = mapped_column(ForeignKey("enterprise.uscc"),
                                                        index=True)
    institution_code: Mapped[str | None] = mapped_column(String(18), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)


class Lot(db.Model):
    """Certified reductions of one project and vintage: serials serial_start..serial_end."""

    __tablename__ = "trading_lot"
    __scope__ = ScopeRule(via=("project_id", Project))
    __table_args__ = (UniqueConstraint("project_id", "serial_start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("trading_project.id"), index=True,
                                            nullable=False)
    vintage: Mapped[int] = mapped_column(Integer, nullable=False)
    serial_start: Mapped[int] = mapped_column(BigInteger, nullable=False)
    serial_end: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reference: Mapped[str | None] = mapped_column(String(200))  # certificate / period
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    project: Mapped[Project] = relationship()


class Block(db.Model):
    """Where a contiguous serial range of a lot is now, and whether it is still live."""

    __tablename__ = "trading_block"
    __scope__ = ScopeRule(via=("account_id", Account))
    __table_args__ = (Index("ix_trading_block_lot_start", "lot_id", "serial_start",
                            unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lot.id"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("trading_account.id"), index=True,
                                            nullable=False)
    serial_start: Mapped[int] = mapped_column(BigInteger, nullable=False)
    serial_end: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")

    lot: Mapped[Lot] = relationship()
    account: Mapped[Account] = relationship()

    @property
    def quantity(self) -> int:
        return self.serial_end - self.serial_start + 1


class Movement(db.Model):
    """One double-entry line: `quantity` tCO2e (serials start..end) from debit to credit."""

    __tablename__ = "trading_movement"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("trading_lot.id"), index=True,
                                        nullable=False)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("trading_account.id"), index=True,
                                                  nullable=False)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("trading_account.id"),
                                                   index=True, nullable=False)
    serial_start: Mapped[int] = mapped_column(BigInteger, nullable=False)
    serial_end: Mapped[int] = mapped_column(BigInteger, nullable=False)
    quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    # SM2 (platform key) over ledger.movement_record(): a changed row no longer verifies
    signature: Mapped[str | None] = mapped_column(Text)
    # exchange receipt of a transfer into its account (machine client), audited
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(64))


class MonitoringReport(db.Model, TimestampMixin):
    """One monitoring period of a project: its monthly figures, the quantified reduction with
    its derivation (`result`), and where certification took it (case, certified tonnes, lot,
    signed certificate)."""

    __tablename__ = "trading_monitoring_report"
    __scope__ = ScopeRule(via=("project_id", Project))
    __table_args__ = (UniqueConstraint("project_id", "period_start", "period_end"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("trading_project.id"), index=True,
                                            nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")
    figures: Mapped[dict | None] = mapped_column(JSON)  # monthly monitoring, per parameter
    result: Mapped[dict | None] = mapped_column(JSON)  # baseline/project/leakage/reduction, lines
    reduction: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))  # tCO2e, quantified
    certified_tonnes: Mapped[int | None] = mapped_column(BigInteger)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)  # workflow instance
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("trading_lot.id"))
    # the signed reduction certificate (documents.Document.id: 32 hex characters)
    document_id: Mapped[str | None] = mapped_column(String(32))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    certified_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)

    project: Mapped[Project] = relationship()


class Settlement(db.Model, TimestampMixin):
    """Settled electricity and fee of one project and month, as the power system reports it
    (R-6.3a); a later report of the same month replaces the figures (audited)."""

    __tablename__ = "trading_settlement"
    __scope__ = ScopeRule(via=("project_id", Project))
    __table_args__ = (UniqueConstraint("project_id", "month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("trading_project.id"), index=True,
                                            nullable=False)
    month: Mapped[date] = mapped_column(Date, nullable=False)  # first day of the month
    settled_mwh: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    fee_yuan: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    source: Mapped[str] = mapped_column(String(80), nullable=False)  # sync / client name
    batch_id: Mapped[int | None] = mapped_column(BigInteger)

    project: Mapped[Project] = relationship()
