"""Monitoring tables: pre-aggregated monthly facts, public-institution data, countries.

The views never read raw energy lines: `MonitoringFact` holds one row per enterprise,
month and energy item (plus a `*` total row per enterprise-month) built from the current
carbon accounts, and `MonitoringCube` rolls those up by county, GB/T 4754 division, key
sector, item and month, so a province's monthly series is a scan of a few thousand rows.
Both are rebuilt incrementally by `app.monitoring.facts.refresh_facts`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule
from app.orgs.models import Institution

QTY = Numeric(24, 6)
TOTAL = "*"        # item key of the all-energy total row
PROCESS = "process"  # item key of industrial-process emissions (not an energy type)


class MonitoringFact(db.Model):
    """One enterprise-month-item: physical amount (net of exports), tce and CO2.

    Denormalised region / industry / sector / uscc so that scoping and grouping need no
    join. The `*` row carries the enterprise-month totals and its value added / output."""

    __tablename__ = "monitoring_fact"
    __scope__ = ScopeRule(region="region_code", enterprise="uscc")
    __table_args__ = (
        UniqueConstraint("enterprise_id", "period", "item", name="uq_monitoring_fact_key"),
        Index("ix_monitoring_fact_period_item", "period", "item"),
        Index("ix_monitoring_fact_region_period", "region_code", "period"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    period: Mapped[int] = mapped_column(Integer, nullable=False)  # yyyymm
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    month: Mapped[int] = mapped_column(Integer, nullable=False)
    region_code: Mapped[str] = mapped_column(String(6), nullable=False)
    industry_code: Mapped[str | None] = mapped_column(String(5))
    division: Mapped[str | None] = mapped_column(String(2))
    sector: Mapped[str | None] = mapped_column(String(30))
    item: Mapped[str] = mapped_column(String(60), nullable=False)
    unit: Mapped[str | None] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(QTY, nullable=False, default=0)
    tce: Mapped[Decimal] = mapped_column(QTY, nullable=False, default=0)
    co2: Mapped[Decimal] = mapped_column(QTY, nullable=False, default=0)
    value_added: Mapped[Decimal | None] = mapped_column(QTY)
    gross_output: Mapped[Decimal | None] = mapped_column(QTY)
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    # 1 on a total ('*') row whose CO2 is an included estimate, not the account's
    estimated: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0,
                                           server_default="0")


class MonitoringCube(db.Model):
    """Roll-up of facts by county x division x sector x item x month."""

    __tablename__ = "monitoring_cube"
    __scope__ = ScopeRule(region="region_code")
    __table_args__ = (
        Index("ix_monitoring_cube_item_period", "item", "period", "region_code"),
        Index("ix_monitoring_cube_region_period", "region_code", "period"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period: Mapped[int] = mapped_column(Integer, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    region_code: Mapped[str] = mapped_column(String(6), nullable=False)
    division: Mapped[str] = mapped_column(String(2), nullable=False, default="")
    sector: Mapped[str] = mapped_column(String(30), nullable=False, default="")
    item: Mapped[str] = mapped_column(String(60), nullable=False)
    amount: Mapped[Decimal] = mapped_column(QTY, nullable=False, default=0)
    tce: Mapped[Decimal] = mapped_column(QTY, nullable=False, default=0)
    co2: Mapped[Decimal] = mapped_column(QTY, nullable=False, default=0)
    value_added: Mapped[Decimal] = mapped_column(QTY, nullable=False, default=0)
    enterprises: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # estimated enterprise-months in the cell (total rows)
    estimated: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                           server_default="0")


class MonitoringState(db.Model):
    """Freshness of the facts: the last carbon-account id folded in and when."""

    __tablename__ = "monitoring_state"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime)
    source_computed_at: Mapped[datetime | None] = mapped_column(DateTime)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    note: Mapped[str | None] = mapped_column(String(200))


class InstitutionEnergy(db.Model):
    """A public institution's monthly use of one energy type, with tce and CO2 computed
    by the GB/T 32150 engine (ISO 14064-1 inventory: scope 1 fuels, scope 2 power/heat).

    `verified` marks figures checked by a third party (ISO 14064-3); `published` is the
    disclosure switch on the row, combined with `Institution.published`."""

    __tablename__ = "institution_energy"
    __scope__ = ScopeRule(via=("institution_id", Institution))
    __table_args__ = (UniqueConstraint("institution_id", "period", "item",
                                       name="uq_institution_energy_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), nullable=False,
                                                index=True)
    period: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    month: Mapped[int] = mapped_column(Integer, nullable=False)
    item: Mapped[str] = mapped_column(String(60), nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    amount: Mapped[Decimal] = mapped_column(QTY, nullable=False)
    tce: Mapped[Decimal] = mapped_column(QTY, nullable=False, default=0)
    co2: Mapped[Decimal] = mapped_column(QTY, nullable=False, default=0)
    factor_id: Mapped[int | None] = mapped_column(Integer)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    verified_by: Mapped[str | None] = mapped_column(String(120))
    published: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    # how the figure was made (flow, ISO 14064-1 scope, factor with its source, formula):
    # `app.institutions.inventory`; `source`: form | import | api | demo
    derivation: Mapped[dict | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(12))

    institution: Mapped[Institution] = relationship()


class Country(db.Model):
    """A country or historical entity of the CDIAC data set, ISO 3166 alpha-3 keyed."""

    __tablename__ = "country"
    iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(60), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # current|former|user


class CountryEmission(db.Model):
    """Annual fossil-fuel and cement CO2 of one CDIAC entity, converted to Mt CO2."""

    __tablename__ = "country_emission"
    __table_args__ = (UniqueConstraint("raw_name", "year", name="uq_country_emission_raw"),
                      Index("ix_country_emission_iso3_year", "iso3", "year"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    iso3: Mapped[str] = mapped_column(ForeignKey("country.iso3"), nullable=False)
    raw_name: Mapped[str] = mapped_column(String(80), nullable=False)
    total_kt_c: Mapped[Decimal] = mapped_column(Numeric(20, 3), nullable=False)
    total_mt_co2: Mapped[Decimal] = mapped_column(Numeric(20, 6), nullable=False)
    solid_mt_co2: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    liquid_mt_co2: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    gas_mt_co2: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    cement_mt_co2: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    flaring_mt_co2: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    bunker_mt_co2: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    per_capita_t_co2: Mapped[Decimal | None] = mapped_column(Numeric(14, 6))
    source: Mapped[str | None] = mapped_column(Text)
