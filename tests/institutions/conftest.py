"""A small world: two public institutions of 湖州 (one per county), their members, the
government reviewers of 湖州 and of another province, an enterprise user and a bank."""

from __future__ import annotations

import pytest

from app.refdata.uscc import make_uscc


def month(year: int, m: int, **amounts) -> dict:
    """One institution-month: month(2025, 3, electricity=100, natural_gas=1)."""
    units = {"electricity": "MWh", "natural_gas": "10^4 Nm3", "gasoline": "t", "heat": "GJ",
             "diesel": "t"}
    flows = {"electricity": "purchased", "heat": "purchased"}
    return {"year": year, "month": m, "lines": [
        {"item": k, "flow": flows.get(k, "consumed"), "amount": str(v), "unit": units[k]}
        for k, v in amounts.items()]}


@pytest.fixture()
def world(reference, make_user, auth):
    from app.energy import service as energy
    from app.orgs.models import Institution
    from app.workflow import deploy

    db = reference
    energy.load_reference()
    deploy.deploy_builtins()
    a = Institution(code="PI-T-A", name="测试市第一中学", kind="public", region_code="330502")
    b = Institution(code="PI-T-B", name="测试县人民医院", kind="public", region_code="330522")
    db.session.add_all([a, b])
    db.session.commit()
    users = {
        "member_a": make_user("institution", institution="PI-T-A"),
        "member_b": make_user("institution", institution="PI-T-B"),
        "reviewer": make_user("reviewer", region="330500"),
        "far_reviewer": make_user("reviewer", region="110000"),
        "enterprise": make_user("enterprise", enterprise=make_uscc("91330500MA0000099")),
        "bank": make_user("bank", institution=make_uscc("91330500MA0000098")),
    }
    return {"db": db, "a": a, "b": b, **users,
            "h": {k: auth(u) for k, u in users.items()}}


def fill_year(client, headers, code: str, year: int, *, electricity=100, gas=1) -> None:
    months = [month(year, m, electricity=electricity, natural_gas=gas) for m in range(1, 13)]
    r = client.post(f"/api/v1/institutions/{code}/energy", json={"months": months},
                    headers=headers)
    assert r.status_code == 201, r.get_json()
