"""Report fixtures: an enterprise with two years of real records (fuel, process, purchased
and exported electricity, heat, biomass) computed by the accounting engine."""

from __future__ import annotations

from datetime import date

import pytest

LINES = [
    {"item": "anthracite", "flow": "consumed", "amount": "120", "unit": "t"},
    {"item": "natural_gas", "flow": "consumed", "amount": "10", "unit": "万立方米"},
    {"item": "electricity", "flow": "purchased", "amount": "800", "unit": "MWh"},
    {"item": "electricity", "flow": "exported", "amount": "40", "unit": "MWh"},
    {"item": "heat", "flow": "purchased", "amount": "50", "unit": "GJ"},
    {"item": "process_caco3", "flow": "process", "amount": "5", "unit": "t"},
]


def add_year(ent, year: int, *, lines=LINES, months=range(1, 13), va: str = "1000") -> None:
    from app.energy import records
    from app.identity.scope import DataScope
    from app.uow import commit

    items = [
        {
            "uscc": ent.uscc,
            "year": year,
            "month": m,
            "gross_output": "3000",
            "value_added": va,
            "lines": lines,
        }
        for m in months
    ]
    records.create_many(items=items, scope=DataScope(all=True), today=date(2026, 6, 1))
    commit()


def change_month(ent, year: int, month: int, *, lines) -> None:
    from sqlalchemy import select

    from app.energy import records
    from app.energy.models import EnergyRecord
    from app.extensions import db
    from app.identity.scope import DataScope
    from app.uow import commit

    rec = db.session.scalar(
        select(EnergyRecord).where(
            EnergyRecord.enterprise_id == ent.id, EnergyRecord.period == year * 100 + month
        )
    )
    records.update(
        record=rec,
        data={"gross_output": "3000", "value_added": "1000", "lines": lines},
        scope=DataScope(all=True),
        today=date(2026, 6, 1),
    )
    commit()


@pytest.fixture()
def report_world(reference):
    """(enterprise A with 2024 and 2025, enterprise B in another city with 2025)."""
    from app.energy.service import load_reference
    from app.orgs.models import Enterprise
    from app.refdata.uscc import make_uscc

    load_reference()
    db = reference
    a = Enterprise(
        uscc=make_uscc("91330522MA3000101"),
        name="湖州甲水泥有限公司",
        region_code="330522",
        industry_code="3011",
        scale="规上",
    )
    b = Enterprise(
        uscc=make_uscc("91330106MA3000202"),
        name="杭州乙玻璃有限公司",
        region_code="330106",
        industry_code="3041",
        scale="规上",
    )
    db.session.add_all([a, b])
    db.session.commit()
    add_year(a, 2024)
    add_year(a, 2025)
    add_year(b, 2025)
    return a, b
