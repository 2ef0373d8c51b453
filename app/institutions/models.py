"""Public institutions' own tables (6.5.3): the reduction target they set and the yearly
disclosure a government reviewer approves. Their monthly energy lives in
`monitoring.models.InstitutionEnergy` (the monitoring views read it too)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db
from app.identity.scope import ScopeRule
from app.orgs.models import Institution

#: what a target reduces: total CO2 (tCO2, scope 1 + 2) or total energy (tce)
METRICS = {"co2": ("碳排放", "吨 CO2"), "energy": ("综合能耗", "吨标准煤")}
#: what the metric is divided by (公共机构 indicators: 人均, 单位建筑面积)
BASES = {"total": ("总量", ""), "per_capita": ("人均", "/人"),
         "per_area": ("单位建筑面积", "/m²")}


def target_label(metric: str, basis: str) -> str:
    """碳排放总量, 人均综合能耗, 单位建筑面积碳排放 ... with its unit."""
    name, unit = METRICS.get(metric, (metric, ""))
    text = {"total": f"{name}总量", "per_capita": f"人均{name}",
            "per_area": f"单位建筑面积{name}"}.get(basis, name)
    return f"{text}（{unit}{BASES.get(basis, ('', ''))[1]}）"


DISCLOSURE_STATUSES = {"submitted": "待政府审核", "returned": "退回修改",
                       "published": "已公示"}


class InstitutionTarget(db.Model):
    """One target per institution: reduce `metric` by `reduction_pct` % from the base
    year's total by `target_year` (a straight-line trajectory between them is the yardstick
    for "at risk")."""

    __tablename__ = "institution_target"
    __scope__ = ScopeRule(via=("institution_id", Institution))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), nullable=False,
                                                unique=True)
    metric: Mapped[str] = mapped_column(String(12), nullable=False, default="co2")
    basis: Mapped[str] = mapped_column(String(12), nullable=False, default="total",
                                       server_default="total")
    base_year: Mapped[int] = mapped_column(Integer, nullable=False)
    target_year: Mapped[int] = mapped_column(Integer, nullable=False)
    reduction_pct: Mapped[Decimal] = mapped_column(Numeric(7, 3), nullable=False)
    set_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    institution: Mapped[Institution] = relationship()

    @property
    def label(self) -> str:
        return target_label(self.metric, self.basis)


class InstitutionProfile(db.Model):
    """A year's denominators: people served / employed (用能人数) and floor area (建筑面积)."""

    __tablename__ = "institution_profile"
    __scope__ = ScopeRule(via=("institution_id", Institution))
    __table_args__ = (UniqueConstraint("institution_id", "year",
                                       name="uq_institution_profile_year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), nullable=False,
                                                index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    persons: Mapped[int] = mapped_column(Integer, nullable=False)
    floor_area: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)  # m²
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class InstitutionDisclosure(db.Model):
    """A year's figures put up for public disclosure; `figures` is the snapshot submitted
    (and, once approved, what the public page shows, whatever is entered later)."""

    __tablename__ = "institution_disclosure"
    __scope__ = ScopeRule(via=("institution_id", Institution))
    __table_args__ = (UniqueConstraint("institution_id", "year",
                                       name="uq_institution_disclosure_year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), nullable=False,
                                                index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="submitted")
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    figures: Mapped[dict | None] = mapped_column(JSON)
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)

    institution: Mapped[Institution] = relationship()

    @property
    def status_label(self) -> str:
        return DISCLOSURE_STATUSES.get(self.status, self.status)
