"""Stored analysis results: forecasts (with their backtest), anomaly flags (with the
reviewer's explanation) and an enterprise's saved improvement scenarios."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule
from app.orgs.models import Enterprise


class ForecastRun(db.Model):
    """The newest forecast of one series (level, code, measure); replaced on each run."""

    __tablename__ = "analytics_forecast"
    __table_args__ = (UniqueConstraint("level", "code", "measure",
                                       name="uq_analytics_forecast_series"),
                      Index("ix_analytics_forecast_industry", "level", "industry_code"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    level: Mapped[str] = mapped_column(String(12), nullable=False)   # enterprise|industry|region
    code: Mapped[str] = mapped_column(String(20), nullable=False)    # USCC, GB/T 4754, GB/T 2260
    measure: Mapped[str] = mapped_column(String(12), nullable=False)  # co2 | energy
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(String(6))
    industry_code: Mapped[str | None] = mapped_column(String(5))
    last_period: Mapped[int | None] = mapped_column(Integer)        # yyyymm of the last actual
    months: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    method: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(300))
    result: Mapped[dict] = mapped_column(JSON, nullable=False)       # Forecast.as_dict()
    model_mase: Mapped[float | None] = mapped_column(Float)
    baseline_mase: Mapped[float | None] = mapped_column(Float)
    model_mape: Mapped[float | None] = mapped_column(Float)
    baseline_mape: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class AnomalyFlag(db.Model):
    """One flag of one enterprise-month. `status`: open → explained (by a reviewer, with a
    note) | cleared (no longer detected after the data changed)."""

    __tablename__ = "analytics_anomaly"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    __table_args__ = (UniqueConstraint("enterprise_id", "period", "kind",
                                       name="uq_analytics_anomaly_key"),
                      Index("ix_analytics_anomaly_status", "status", "period"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, nullable=False)
    period: Mapped[int] = mapped_column(Integer, nullable=False)     # yyyymm
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(String(400), nullable=False)
    numbers: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    note: Mapped[str | None] = mapped_column(Text)
    explained_by: Mapped[int | None] = mapped_column(Integer)       # user.id
    explained_at: Mapped[datetime | None] = mapped_column(DateTime)
    detected_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship(
        primaryjoin="Enterprise.id == foreign(AnomalyFlag.enterprise_id)", viewonly=True)


class Scenario(db.Model):
    """A saved grade-improvement scenario: its measures and what the engine made of them."""

    __tablename__ = "analytics_scenario"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    measures: Mapped[list] = mapped_column(JSON, nullable=False)
    result: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
