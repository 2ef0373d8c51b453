"""Electricity-carbon factors (电碳因子, R-6.4): the enterprise factor library (versioned,
with origin), regional networks and their simulated factors, third-party checks, estimates
from electricity, and the per-region setting whether estimates count in the figures.

A factor version is never edited: recompute, override, certification and retirement each
write a new row (or end the current one), so every estimate can name the version it used.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
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

from app.db import BigId, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule
from app.orgs.models import Enterprise

FACTOR = Numeric(14, 6)

#: origin of a factor version
ORIGINS = {"computed": "平台计算", "measured": "实测", "certified": "第三方认证",
           "manual": "人工设定", "fallback": "行业区域参考值"}
#: quality flags a fit may carry
FLAGS = {"too_few_months": "月份不足", "poor_fit": "拟合较差", "structural_break": "结构突变",
         "negative_slope": "斜率为负", "low_variation": "用电量变化过小"}
METHODS = {"theil_sen": "Theil–Sen 稳健回归",
           "ols": "普通最小二乘", "manual": "人工设定", "measured": "实测",
           "certified": "第三方认证"}


class ElectricityFactor(db.Model):
    """One version of an enterprise's factor: CO2_m = a + b · E_m (b in tCO2/MWh, a in t)."""

    __tablename__ = "electricity_factor"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    __table_args__ = (
        UniqueConstraint("enterprise_id", "version", name="uq_electricity_factor_ent_ver"),
        Index("ix_electricity_factor_current", "is_current", "enterprise_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="active")
    origin: Mapped[str] = mapped_column(String(12), nullable=False)
    method: Mapped[str] = mapped_column(String(12), nullable=False)
    slope: Mapped[Decimal] = mapped_column(FACTOR, nullable=False)          # b, tCO2/MWh
    intercept: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))       # a, tCO2/month
    r2: Mapped[Decimal | None] = mapped_column(Numeric(8, 6))
    n_months: Mapped[int | None] = mapped_column(Integer)
    resid_sd: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))        # tCO2
    ci_low: Mapped[Decimal | None] = mapped_column(FACTOR)
    ci_high: Mapped[Decimal | None] = mapped_column(FACTOR)
    ols_slope: Mapped[Decimal | None] = mapped_column(FACTOR)
    ols_intercept: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    ols_r2: Mapped[Decimal | None] = mapped_column(Numeric(8, 6))
    period_from: Mapped[int | None] = mapped_column(Integer)                # yyyymm
    period_to: Mapped[int | None] = mapped_column(Integer)
    flags: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    reason: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(Text)
    check_id: Mapped[int | None] = mapped_column(Integer)                   # factor_check.id
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)

    enterprise: Mapped[Enterprise] = relationship()

    @property
    def origin_label(self) -> str:
        return ORIGINS.get(self.origin, self.origin)

    @property
    def method_label(self) -> str:
        return METHODS.get(self.method, self.method)


class RegionalNetwork(db.Model):
    """A regional network for one period (generation by source, exchanges) and the result of
    its simulation; `is_demo` marks illustrative data that must never pass for official."""

    __tablename__ = "regional_network"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_regional_network_code_ver"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(60), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="simulated")
    network: Mapped[dict] = mapped_column(JSON, nullable=False)
    result: Mapped[dict | None] = mapped_column(JSON)
    check_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))


class FactorCheck(db.Model):
    """A third-party check (6.4.3) of a simulated factor set against measured results, with
    the platform's SM2 signature over its canonical statement."""

    __tablename__ = "factor_check"
    __scope__ = ScopeRule(region="region_code", enterprise="enterprise_uscc",
                          verification_body="body_code")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(12), nullable=False)  # enterprise | region
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18))
    factor_id: Mapped[int | None] = mapped_column(BigId)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("regional_network.id"))
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    body_code: Mapped[str | None] = mapped_column(String(18), index=True)
    tolerance_pct: Mapped[Decimal] = mapped_column(Numeric(8, 4), nullable=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    mape_pct: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    bias_pct: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    max_error_pct: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    details: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    statement: Mapped[str] = mapped_column(Text, nullable=False)   # canonical JSON signed
    signature: Mapped[str] = mapped_column(Text, nullable=False)   # hex DER SM2
    signer: Mapped[str] = mapped_column(String(120), nullable=False)
    workflow_instance: Mapped[str | None] = mapped_column(String(64))
    #: the signed PDF statement in the document store (None on checks made before it)
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL", name="fk_factor_check_document"))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))


class ElectricityEstimate(db.Model):
    """CO2 of an enterprise-month estimated from electricity × factor (估算（电碳因子）),
    kept apart from GB/T 32150 accounts so that nothing mixes them silently."""

    __tablename__ = "electricity_estimate"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    __table_args__ = (UniqueConstraint("enterprise_id", "period",
                                       name="uq_electricity_estimate_ent_period"),
                      Index("ix_electricity_estimate_region", "region_code", "period"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), nullable=False)
    period: Mapped[int] = mapped_column(Integer, nullable=False)
    region_code: Mapped[str] = mapped_column(String(6), nullable=False)
    electricity_mwh: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    factor_id: Mapped[int | None] = mapped_column(BigId)
    factor_origin: Mapped[str] = mapped_column(String(12), nullable=False)
    slope: Mapped[Decimal] = mapped_column(FACTOR, nullable=False)
    intercept: Mapped[Decimal] = mapped_column(Numeric(18, 4), nullable=False, default=0)
    co2: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    co2_low: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    co2_high: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    computed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class EstimationSetting(db.Model):
    """Whether a region's figures include enterprises estimated from electricity."""

    __tablename__ = "estimation_setting"
    __scope__ = ScopeRule(region="region_code", target_key="region_code")
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    include_estimates: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(120))
