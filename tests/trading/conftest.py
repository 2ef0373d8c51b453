"""Fixtures for trading tests: enterprises, projects and holding accounts."""

from __future__ import annotations

import pytest

from app.identity.datascope import DataScope

ALL = DataScope(all=True)


@pytest.fixture()
def make_ent(reference):
    """make_ent(n, region="330522") -> Enterprise with a valid USCC."""
    from app.orgs.models import Enterprise
    from app.refdata.uscc import make_uscc

    def _make(n: int, *, region: str = "330522") -> Enterprise:
        ent = Enterprise(uscc=make_uscc(f"91{region}MA3{n:06d}"), name=f"测试企业{n}",
                         region_code=region, scale="规上")
        reference.session.add(ent)
        reference.session.commit()
        return ent

    return _make


@pytest.fixture()
def make_project(make_ent, reference):
    """make_project(ent, code="PV1") -> a registered photovoltaic project."""
    from app.trading import service

    def _make(ent, *, code: str = "PV1", ptype: str = "photovoltaic",
              methodology: str = "grid_renewable"):
        p = service.create(data={"code": code, "name": f"{code} 项目", "type": ptype,
                                 "enterprise": ent.uscc, "methodology": methodology,
                                 "capacity_mw": "20", "crediting_start": "2025-01-01",
                                 "crediting_end": "2031-12-31"}, scope=ALL)
        reference.session.commit()
        return p

    return _make


@pytest.fixture()
def energy(reference):
    from app.energy.service import load_reference

    load_reference()
    reference.session.commit()
    return reference


@pytest.fixture()
def pv(energy, make_ent, make_project):
    """Enterprise A's 20 MW PV project with MWh meters; B's project in another region."""
    from app.exchange import meters
    from app.trading.monitoring import METERS

    a, b = make_ent(1), make_ent(2, region="330502")
    pa, pb = make_project(a, code="PVA"), make_project(b, code="PVB")
    for p, ent in ((pa, a), (pb, b)):
        for param, attr in METERS.items():
            ext = f"{p.code}-{param}"
            meters.create(data={"enterprise": ent.uscc, "external_id": ext,
                                "energy_type": "electricity", "unit": "MWh"}, scope=ALL)
            setattr(p, attr, ext)
    energy.session.commit()
    return a, b, pa, pb
