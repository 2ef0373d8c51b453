"""Monitoring fixtures: demo-like enterprises, records and accounts built through the
accounting services, then the monitoring facts."""

from __future__ import annotations

import pytest

from app.monitoring.countries import CDIAC_FILE as CDIAC


@pytest.fixture()
def monitored(reference):
    """12 enterprises (a third in 湖州 330500, the rest across 浙江), 14 months of records,
    accounts and codes; facts fully built. Returns the db."""
    from app.accounting import demo
    from app.demo import _ensure_orgs
    from app.monitoring import facts

    _ensure_orgs()
    demo.load(12, 14)
    facts.refresh_facts()
    reference.session.commit()
    return reference


@pytest.fixture()
def countries_loaded(reference):
    from app.monitoring.countries import import_countries

    if not CDIAC.exists():
        from tests.conftest import CI

        (pytest.fail if CI else pytest.skip)(f"data file not found: {CDIAC}")
    report = import_countries(CDIAC)
    assert report["ok"], report["errors"][:5]
    reference.session.commit()
    return reference
