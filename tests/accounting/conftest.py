"""Fixtures for accounting tests: energy reference data and enterprises."""

from __future__ import annotations

import pytest


@pytest.fixture()
def energy_ref(reference):
    from app.energy.service import load_reference

    load_reference()
    reference.session.commit()
    return reference


@pytest.fixture()
def make_ent(energy_ref):
    """make_ent(n, region="330522", industry="3011") -> Enterprise with a valid USCC."""
    from app.orgs.models import Enterprise
    from app.refdata.uscc import make_uscc

    def _make(n: int, *, region: str = "330522", industry: str | None = "3011",
              name: str | None = None) -> Enterprise:
        ent = Enterprise(uscc=make_uscc(f"91{region}MA3{n:06d}"), name=name or f"测试企业{n}",
                         region_code=region, industry_code=industry, scale="规上")
        energy_ref.session.add(ent)
        energy_ref.session.commit()
        return ent

    return _make
