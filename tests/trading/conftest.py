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
