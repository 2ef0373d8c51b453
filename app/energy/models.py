"""Energy types, emission factors (versioned, with sources) and monthly enterprise records.

A factor row is never edited in place: a correction is a new row with `version + 1` that
supersedes the old one (status `superseded`), so every result that used the old row can
still name exactly which figures it used. Every version carries the accounting period it
applies to (`valid_from` / `valid_to`, empty = open): an activity month is priced by the
newest version of a series in force on the month's first day (`app.energy.resolve`), so a
version valid from 2025-01-01 leaves 2024 with the version before it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
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

from app.db import BigId, TimestampMixin, utcnow
from app.energy.kinds import CATEGORIES, FLOWS, FUEL_CATEGORIES
from app.extensions import db
from app.identity.scope import ScopeRule
from app.orgs.models import Enterprise

__all__ = ["FLOWS", "CATEGORIES", "FUEL_CATEGORIES", "EnergyType", "EmissionFactor",
           "EnergyRecord", "EnergyLine"]


class EnergyType(db.Model):
    """GB/T 2589-2020 energy kinds: physical unit, tce coefficient, combustion parameters
    are kept as `EmissionFactor` rows of kind `combustion` (so they are versioned too)."""

    __tablename__ = "energy_type"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    tce_factor: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    tce_source: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=100, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})"


class EmissionFactor(db.Model):
    """One version of one factor. `code` names the series (e.g. `grid_2022_330000`,
    `combustion:coke`, `process_caco3`); (code, version) is unique."""

    __tablename__ = "emission_factor"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_emission_factor_code_ver"),
                      Index("ix_emission_factor_kind_scope_year", "kind", "scope", "year"),
                      CheckConstraint("valid_from IS NULL OR valid_to IS NULL "
                                      "OR valid_from <= valid_to",
                                      name="ck_emission_factor_validity"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(60), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    energy_code: Mapped[str | None] = mapped_column(ForeignKey("energy_type.code"), index=True)
    name: Mapped[str | None] = mapped_column(String(120))
    scope: Mapped[str] = mapped_column(String(30), nullable=False, default="generic")
    scope_name: Mapped[str | None] = mapped_column(String(60))
    year: Mapped[int | None] = mapped_column(Integer)
    # tCO2 per physical unit of the activity (combustion: NCV x CC x OF x 44/12)
    value: Mapped[Decimal | None] = mapped_column(Numeric(24, 10))
    unit: Mapped[str] = mapped_column(String(40), nullable=False)
    ncv: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    ncv_unit: Mapped[str | None] = mapped_column(String(20))
    carbon_content: Mapped[Decimal | None] = mapped_column(Numeric(18, 8))
    oxidation_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    source: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="active")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("emission_factor.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(120))

    energy_type: Mapped[EnergyType | None] = relationship()
    supersedes: Mapped[EmissionFactor | None] = relationship(remote_side=[id])

    @property
    def complete(self) -> bool:
        if self.kind == "combustion":
            return None not in (self.ncv, self.carbon_content, self.oxidation_rate)
        return self.value is not None

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class EnergyRecord(db.Model, TimestampMixin):
    """One enterprise-month: energy lines plus output value and value added (万元)."""

    __tablename__ = "energy_record"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    __table_args__ = (UniqueConstraint("enterprise_id", "period",
                                       name="uq_energy_record_enterprise_period"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    month: Mapped[int] = mapped_column(Integer, nullable=False)
    period: Mapped[int] = mapped_column(Integer, nullable=False, index=True)  # yyyymm
    gross_output: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))   # 工业总产值 万元
    value_added: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))    # 工业增加值 万元
    source: Mapped[str] = mapped_column(String(12), nullable=False, default="form")
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(120))

    enterprise: Mapped[Enterprise] = relationship()
    lines: Mapped[list[EnergyLine]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="EnergyLine.position")

    @property
    def period_label(self) -> str:
        return f"{self.year}-{self.month:02d}"


class EnergyLine(db.Model):
    """A quantity in the record: a fuel burnt, electricity / heat bought or sold, renewable
    electricity generated on site, or a process-emission activity. Optional measured
    parameters (实测值) override the library's for that line."""

    __tablename__ = "energy_line"
    __scope__ = ScopeRule(via=("record_id", EnergyRecord))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("energy_record.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    flow: Mapped[str] = mapped_column(String(20), nullable=False)
    item: Mapped[str] = mapped_column(String(60), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    ncv: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    carbon_content: Mapped[Decimal | None] = mapped_column(Numeric(18, 8))
    oxidation_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    factor_value: Mapped[Decimal | None] = mapped_column(Numeric(24, 10))
    note: Mapped[str | None] = mapped_column(String(200))

    record: Mapped[EnergyRecord] = relationship(back_populates="lines")
