"""A small world for the exchange tests: onboarded exchanges (and a bank, a research
institute), an enterprise with a certified lot, the exchanges' ledger accounts."""

from __future__ import annotations

from sqlalchemy import select

from app.identity.datascope import DataScope
from app.identity.models import User
from tests.conftest import api_token

ALL = DataScope(all=True)
PW = "Org#Admin-Pass-2026x"


def org_admin(client, reference, onboard, kind: str) -> tuple[dict, User, dict]:
    org, email, pw = onboard(kind=kind, password=PW)
    user = reference.session.scalar(select(User).where(User.email == email))
    return org, user, api_token(client, user, password=pw)


def enterprise_with_lot(reference, *, n: int = 1, code: str = "PVX", quantity: int = 100):
    """An enterprise, its PV project and a certified lot in its holding account."""
    from app.orgs.models import Enterprise
    from app.refdata.uscc import make_uscc
    from app.trading import ledger, service

    ent = Enterprise(uscc=make_uscc(f"91330522MA3{n:06d}"), name=f"测试企业{n}",
                     region_code="330522", scale="规上")
    reference.session.add(ent)
    reference.session.commit()
    project = service.create(data={"code": code, "name": f"{code} 光伏项目",
                                   "type": "photovoltaic", "enterprise": ent.uscc,
                                   "methodology": "grid_renewable", "capacity_mw": "20",
                                   "crediting_start": "2025-01-01",
                                   "crediting_end": "2031-12-31"}, scope=ALL)
    holding = ledger.holding_account(enterprise=ent)
    lot = ledger.issue(project=project, vintage=2025, quantity=quantity, to_account=holding)
    reference.session.commit()
    return ent, project, holding, lot


def exchange_account(reference, org: dict):
    from app.trading import ledger

    acc = ledger.exchange_account(institution_code=org["uscc"], name=org["name"])
    reference.session.commit()
    return acc


def transfer(client, headers, *, lot, holding, to, quantity: int):
    r = client.post("/api/v1/assets/transfers", headers=headers, json={
        "lot": lot.id, "from_account": holding.code, "to_account": to.code,
        "quantity": quantity})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def new_key(client, headers, name: str, scopes: list[str]) -> dict:
    r = client.post("/api/v1/onboarding/exchange/clients", headers=headers,
                    json={"name": name, "scopes": scopes})
    assert r.status_code == 201, r.get_json()
    return {"X-API-Key": r.get_json()["api_key"]}
