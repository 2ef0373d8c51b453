"""Accounting facts (one row per enterprise-month and version, with its lines), industry
benchmarks and issued carbon efficiency codes. Old versions stay (is_current = false) as
history; the monitoring views read `is_current` rows.

These are high-volume fact tables written set-based (millions of rows per province run):
`enterprise_id` / `account_id` are indexed but carry no database foreign key (a per-row
RI check would cost more than the computation); the writers take ids from existing rows and
enterprises are never hard-deleted (`active` flag). Indexes are kept to what the readers use
(every index costs each of the millions of inserts): accounts by (enterprise, period) and by
(period, current); lines by (account, position); codes by (enterprise, period) and by
(period, current). Region / industry filters always come with a period range.

An enterprise-month's versions: `version` counts up, one `is_current`. A version whose
`status` is `published` or `verified` is frozen: recomputes skip it (and note why in
`pending_reason`); only `service.restate` writes a new version over it, with a reason,
pointing back with `restates_id`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from app.db import BigId, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule
from app.orgs.models import Enterprise

CO2 = Numeric(20, 6)
MONEY = Numeric(20, 4)
#: freeze states of an account version, in order; a frozen version is never rewritten
STATUSES = {"open": "未冻结", "published": "已发布", "verified": "已核查"}
FROZEN = ("published", "verified")


class CarbonAccount(db.Model):
    """Monthly fact: GB/T 32150 result of one enterprise-month (tCO2, tce, 万元)."""

    __tablename__ = "carbon_account"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    __table_args__ = (
        UniqueConstraint("enterprise_id", "period", "version",
                         name="uq_carbon_account_ent_period_ver"),
        Index("ix_carbon_account_current", "period", "is_current"),
    )  # (enterprise_id, period) look-ups use the unique index's prefix
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, nullable=False)  # enterprise.id
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    month: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    period: Mapped[int] = mapped_column(Integer, nullable=False)  # yyyymm
    region_code: Mapped[str] = mapped_column(String(6), nullable=False)
    industry_code: Mapped[str | None] = mapped_column(String(5))
    record_id: Mapped[int | None] = mapped_column(BigId)
    record_revision: Mapped[int | None] = mapped_column(Integer)
    energy_tce: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    co2_total: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    co2_combustion: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    co2_process: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    co2_electricity: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    co2_heat: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    co2_electricity_exported: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    co2_heat_exported: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    co2_biomass: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    electricity_mwh: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    gross_output: Mapped[Decimal | None] = mapped_column(MONEY)
    value_added: Mapped[Decimal | None] = mapped_column(MONEY)
    intensity: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))          # tCO2/万元 VA
    energy_per_output: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))  # tce/万元 output
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    method: Mapped[str] = mapped_column(String(8), nullable=False, default="row")
    reason: Mapped[str | None] = mapped_column(String(200))
    computed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # freeze state of this version (see docs/accounting.md): open | published | verified
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open",
                                        server_default="open")
    frozen_at: Mapped[datetime | None] = mapped_column(DateTime)
    frozen_by: Mapped[str | None] = mapped_column(String(120))
    restates_id: Mapped[int | None] = mapped_column(BigInteger)  # the version it restates
    # inputs changed after the freeze and were NOT applied (restatement needed), and why
    pending_reason: Mapped[str | None] = mapped_column(String(200))

    enterprise: Mapped[Enterprise] = relationship(
        primaryjoin="Enterprise.id == foreign(CarbonAccount.enterprise_id)", viewonly=True)
    lines: Mapped[list[CarbonAccountLine]] = relationship(
        primaryjoin="CarbonAccount.id == foreign(CarbonAccountLine.account_id)",
        order_by="CarbonAccountLine.position", viewonly=True)

    @property
    def period_label(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def frozen(self) -> bool:
        return self.status in FROZEN

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)


class CarbonAccountLine(db.Model):
    """Derivation of one account line: the input, the factor version, the term. Keyed by
    (account, position): no surrogate id, one index (the bulk writer's largest table)."""

    __tablename__ = "carbon_account_line"
    __scope__ = ScopeRule(via=("account_id", CarbonAccount))
    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False,
                                          default=0)
    item: Mapped[str] = mapped_column(String(60), nullable=False)
    flow: Mapped[str] = mapped_column(String(20), nullable=False)
    bucket: Mapped[str] = mapped_column(String(24), nullable=False)
    sign: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    ncv: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    carbon_content: Mapped[Decimal | None] = mapped_column(Numeric(18, 8))
    oxidation_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    ef: Mapped[Decimal | None] = mapped_column(Numeric(24, 10))
    factor_id: Mapped[int | None] = mapped_column(Integer)
    factor_version: Mapped[int | None] = mapped_column(Integer)
    parameter_origin: Mapped[str] = mapped_column(String(20), nullable=False,
                                                  default="library")
    co2: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    tce: Mapped[Decimal] = mapped_column(CO2, nullable=False)


class IndustryBenchmark(db.Model):
    """Σ emissions / Σ value added of an industry in an area for a period (weighted)."""

    __tablename__ = "industry_benchmark"
    __table_args__ = (Index("ix_industry_benchmark_key", "period_key", "area_code",
                            "industry_code", "is_current"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period_type: Mapped[str] = mapped_column(String(8), nullable=False)
    period_key: Mapped[str] = mapped_column(String(8), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    area_code: Mapped[str] = mapped_column(String(6), nullable=False)
    industry_level: Mapped[str] = mapped_column(String(10), nullable=False)
    industry_code: Mapped[str] = mapped_column(String(5), nullable=False)
    co2_total: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    value_added_total: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    intensity: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    enterprises: Mapped[int] = mapped_column(Integer, nullable=False)
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class CarbonCode(db.Model):
    """An issued carbon efficiency code (碳效码) for one enterprise, period and scheme."""

    __tablename__ = "carbon_code"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    __table_args__ = (Index("ix_carbon_code_lookup", "enterprise_id", "period_key"),
                      Index("ix_carbon_code_period", "period_key", "is_current"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, nullable=False)  # enterprise.id
    period_type: Mapped[str] = mapped_column(String(8), nullable=False)
    period_key: Mapped[str] = mapped_column(String(8), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    scheme_id: Mapped[str] = mapped_column(String(60), nullable=False)
    scheme_version: Mapped[str] = mapped_column(String(12), nullable=False)
    basis: Mapped[str] = mapped_column(String(12), nullable=False)  # K | intensity
    area_code: Mapped[str] = mapped_column(String(6), nullable=False)
    industry_code: Mapped[str | None] = mapped_column(String(5))
    co2: Mapped[Decimal] = mapped_column(CO2, nullable=False)
    value_added: Mapped[Decimal | None] = mapped_column(MONEY)
    intensity: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    benchmark_intensity: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    k_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    peers: Mapped[int | None] = mapped_column(Integer)
    graded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    grade: Mapped[int | None] = mapped_column(SmallInteger)
    grade_label: Mapped[str | None] = mapped_column(String(20))
    colour: Mapped[str | None] = mapped_column(String(7))
    reason: Mapped[str | None] = mapped_column(String(200))
    # months whose CO2 is an estimate (electricity × factor) standing in for the account's
    estimated_months: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                                  server_default="0")
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    method: Mapped[str] = mapped_column(String(8), nullable=False, default="row")
    issued_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship(
        primaryjoin="Enterprise.id == foreign(CarbonCode.enterprise_id)", viewonly=True)


__all__ = ["STATUSES", "FROZEN", "CarbonAccount", "CarbonAccountLine", "IndustryBenchmark",
           "CarbonCode", "foreign"]
