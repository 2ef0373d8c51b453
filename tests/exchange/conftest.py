"""Fixtures for exchange tests: energy reference data, enterprises, machine clients, meters."""

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
    from app.orgs.models import Enterprise
    from app.refdata.uscc import make_uscc

    def _make(n: int, *, region: str = "330522") -> Enterprise:
        ent = Enterprise(uscc=make_uscc(f"91{region}MA3{n:06d}"), name=f"交换企业{n}",
                         region_code=region, industry_code="3011", scale="规上")
        energy_ref.session.add(ent)
        energy_ref.session.commit()
        return ent

    return _make


@pytest.fixture()
def make_client(energy_ref):
    """make_client("erp-a", enterprises=[uscc]) -> headers with its X-API-Key."""
    from app.exchange import clients

    def _make(name: str, *, enterprises=(), regions=(), permissions=()):
        _, key = clients.create(name=name, enterprises=enterprises, regions=regions,
                                permissions=permissions)
        energy_ref.session.commit()
        return {"X-API-Key": key}

    return _make


@pytest.fixture()
def make_meter(energy_ref):
    from app.exchange import meters
    from app.identity.scope import DataScope

    def _make(ent, external_id: str, *, energy_type="electricity", unit="kWh",
              multiplier="1", installed_at=None):
        m = meters.create(data={"enterprise": ent.uscc, "external_id": external_id,
                                "energy_type": energy_type, "unit": unit,
                                "multiplier": multiplier, "installed_at": installed_at},
                          scope=DataScope(all=True))
        energy_ref.session.commit()
        return m

    return _make
