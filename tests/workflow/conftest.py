"""Fixtures for the workflow service and API tests: the built-in models deployed, a demo-like
enterprise with a year of carbon accounts, and the people of the review process."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

YEAR = 2025
CITY_A, CITY_B, PROVINCE = "330500", "330100", "330000"


def add_accounts(db, enterprise, *, year: int = YEAR, months=range(1, 13),
                 co2: Decimal | dict = Decimal("1000"), value_added: Decimal = Decimal("500"),
                 electricity: Decimal = Decimal("800")) -> None:
    from app.accounting.models import CarbonAccount

    for m in months:
        value = co2[m] if isinstance(co2, dict) else co2
        db.session.add(CarbonAccount(
            enterprise_id=enterprise.id, year=year, month=m, period=year * 100 + m,
            region_code=enterprise.region_code, industry_code=enterprise.industry_code,
            energy_tce=Decimal("400"), co2_total=value, co2_combustion=value,
            co2_process=Decimal(0), co2_electricity=Decimal(0), co2_heat=Decimal(0),
            co2_electricity_exported=Decimal(0), co2_heat_exported=Decimal(0),
            co2_biomass=Decimal(0), electricity_mwh=electricity, value_added=value_added,
            gross_output=value_added * 3, version=1, is_current=True))
    db.session.flush()


def make_enterprise(db, uscc: str, region: str, name: str = "测试水泥有限公司"):
    from app.orgs.models import Enterprise

    ent = Enterprise(uscc=uscc, name=name, region_code=region, industry_code="3011")
    db.session.add(ent)
    db.session.flush()
    return ent


@dataclass
class World:
    db: Any
    ent: Any
    ent_b: Any
    company: Any       # enterprise user of `ent`
    company_b: Any     # enterprise user of `ent_b`
    reviewer: Any      # city A (初审)
    reviewer_b: Any    # city B
    approver: Any      # province (终审)
    admin: Any
    designer: Any

    def start(self, **data: Any):
        from app.uow import commit
        from app.workflow import service

        inst = service.start(model="enterprise_report", data={"year": YEAR, **data},
                             user=self.company)
        commit()
        return inst

    def only_task(self, inst, name: str | None = None):
        from app.workflow import service

        tasks = service.current_tasks(inst=inst)
        if name is not None:
            tasks = [t for t in tasks if t.name == name]
        assert len(tasks) == 1, [t.name for t in tasks]
        return tasks[0]

    def do(self, inst, name: str, user, data: dict[str, Any]):
        from app.uow import commit
        from app.workflow import service

        task = self.only_task(inst, name)
        inst = service.complete(task_id=task.id, user=user, data=data)
        commit()
        return inst


@pytest.fixture()
def world(reference, make_user) -> World:
    from app.uow import commit
    from app.workflow import deploy

    db = reference
    deploy.deploy_builtins()
    ent = make_enterprise(db, "91330500MA00000014", "330522")
    ent_b = make_enterprise(db, "91330100MA0000002J", "330106", name="杭州测试钢铁有限公司")
    add_accounts(db, ent)
    add_accounts(db, ent_b)
    commit()
    return World(
        db=db, ent=ent, ent_b=ent_b,
        company=make_user("enterprise", enterprise=ent.uscc),
        company_b=make_user("enterprise", enterprise=ent_b.uscc),
        reviewer=make_user("reviewer", region=CITY_A),
        reviewer_b=make_user("reviewer", region=CITY_B),
        approver=make_user("approver", region=PROVINCE),
        admin=make_user("admin"), designer=make_user("designer"))
