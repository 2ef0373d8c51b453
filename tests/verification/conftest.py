"""Fixtures of the verification tests: the built-in models, an enterprise with a year of
accounts (combustion and a small electricity source, so that the platform samples it),
two accredited bodies and the people of both cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

YEAR = 2025
COMBUSTION, ELECTRICITY = Decimal("1000"), Decimal("30")


def add_accounts(
    db, ent, *, year: int = YEAR, version: int = 1, combustion: dict[int, Decimal] | None = None
) -> None:
    from app.accounting.models import CarbonAccount

    for m in range(1, 13):
        comb = (combustion or {}).get(m, COMBUSTION)
        db.session.add(
            CarbonAccount(
                enterprise_id=ent.id,
                year=year,
                month=m,
                period=year * 100 + m,
                region_code=ent.region_code,
                industry_code=ent.industry_code,
                energy_tce=Decimal("400"),
                co2_total=comb + ELECTRICITY,
                co2_combustion=comb,
                co2_process=Decimal(0),
                co2_electricity=ELECTRICITY,
                co2_heat=Decimal(0),
                co2_electricity_exported=Decimal(0),
                co2_heat_exported=Decimal(0),
                co2_biomass=Decimal(0),
                electricity_mwh=Decimal("50"),
                value_added=Decimal("500"),
                gross_output=Decimal("1500"),
                version=version,
                is_current=True,
            )
        )
    db.session.flush()


def correct_month(db, ent, *, month: int, combustion: Decimal) -> None:
    """What a corrected energy record does to the account: a new current version."""
    from sqlalchemy import select

    from app.accounting.models import CarbonAccount

    old = db.session.scalar(
        select(CarbonAccount).where(
            CarbonAccount.enterprise_id == ent.id,
            CarbonAccount.period == YEAR * 100 + month,
            CarbonAccount.is_current.is_(True),
        )
    )
    old.is_current = False
    db.session.flush()
    db.session.add(
        CarbonAccount(
            enterprise_id=ent.id,
            year=YEAR,
            month=month,
            period=YEAR * 100 + month,
            region_code=ent.region_code,
            industry_code=ent.industry_code,
            energy_tce=old.energy_tce,
            co2_total=combustion + ELECTRICITY,
            co2_combustion=combustion,
            co2_process=Decimal(0),
            co2_electricity=ELECTRICITY,
            co2_heat=Decimal(0),
            co2_electricity_exported=Decimal(0),
            co2_heat_exported=Decimal(0),
            co2_biomass=Decimal(0),
            electricity_mwh=old.electricity_mwh,
            value_added=old.value_added,
            gross_output=old.gross_output,
            version=old.version + 1,
            is_current=True,
        )
    )
    db.session.flush()


@dataclass
class V:
    db: Any
    ent: Any
    body: Any
    body_b: Any
    company: Any
    reviewer: Any
    approver: Any
    lead: Any
    member: Any
    checker: Any  # same body, not on the team: the independent reviewer
    other: Any  # verifier of body B
    extra: dict = field(default_factory=dict)

    def tasks(self, inst):
        from app.workflow import service

        return service.current_tasks(inst=inst)

    def task(self, inst, name):
        found = [t for t in self.tasks(inst) if t.name == name]
        assert len(found) == 1, [t.name for t in self.tasks(inst)]
        return found[0]

    def do(self, inst, name, user, data):
        from app.uow import commit
        from app.workflow import service

        inst = service.complete(task_id=self.task(inst, name).id, user=user, data=data)
        commit()
        return inst

    def report(self, *, require: bool = True):
        """A report case submitted and through 初审 (asking for verification)."""
        from app.uow import commit
        from app.workflow import service

        inst = service.start(model="enterprise_report", data={"year": YEAR}, user=self.company)
        commit()
        inst = self.do(inst, "submit_report", self.company, {"confirm": True})
        return self.do(
            inst,
            "initial_review",
            self.reviewer,
            {"decision": "approve", "comment": "同意", "require_verification": require},
        )

    def verification(self, report):
        from app.verification import service
        from app.workflow.models import ProcessInstance

        v = service.get_by_report(report_instance_id=report.id)
        return v, self.db.session.get(ProcessInstance, v.instance_id)


@pytest.fixture()
def vworld(reference, make_user) -> V:
    from datetime import date

    from app.orgs.models import Enterprise, VerificationBody
    from app.uow import commit
    from app.workflow import deploy

    db = reference
    deploy.deploy_builtins()
    ent = Enterprise(
        uscc="91330500MA0000009W",
        name="测试水泥有限公司",
        region_code="330522",
        industry_code="3011",
    )
    body = VerificationBody(
        code="VB-A",
        name="甲核查中心",
        region_code="330000",
        accreditation="CNAS-A",
        accreditation_scope="30,31",
        accredited_until=date(2099, 12, 31),
    )
    body_b = VerificationBody(
        code="VB-B",
        name="乙核查中心",
        region_code="330000",
        accreditation="CNAS-B",
        accreditation_scope="*",
    )
    db.session.add_all([ent, body, body_b])
    db.session.flush()
    add_accounts(db, ent)
    commit()
    return V(
        db=db,
        ent=ent,
        body=body,
        body_b=body_b,
        company=make_user("enterprise", enterprise=ent.uscc),
        reviewer=make_user("reviewer", region="330500"),
        approver=make_user("approver", region="330000"),
        lead=make_user("verifier", verification_body="VB-A"),
        member=make_user("verifier", verification_body="VB-A"),
        checker=make_user("verifier", verification_body="VB-A"),
        other=make_user("verifier", verification_body="VB-B"),
    )


PLAN = {
    "level_of_assurance": "reasonable",
    "materiality_pct": 5,
    "risk_combustion": "high",
    "risk_process": "low",
    "risk_electricity": "low",
    "risk_heat": "low",
}
SITE = {"site_visit_date": "2026-03-02", "people_met": "王厂长（生产）"}


def run_to_statement(w: V, *, evidence_file: bytes | None = None):
    """Report → assignment → plan → review of every sampled month → clean conclusion →
    independent review → signed statement. Returns (report, verification, statement)."""
    from sqlalchemy import select

    from app.uow import commit
    from app.verification import evidence
    from app.verification.models import Statement, Verification
    from app.workflow import attachments

    report = w.report()
    v, inst = w.verification(report)
    inst = w.do(inst, "assign_body", w.reviewer, {"body_code": "VB-A"})
    inst = w.do(inst, "accept_assignment", w.lead, {"decision": "accept", "team": ""})
    inst = w.do(inst, "plan", w.lead, PLAN)
    v = w.db.session.get(Verification, v.id)
    for source, month in evidence.missing_checks(v=v):
        evidence.record_check(v=v, user=w.lead, source=source, month=month, status="checked")
    if evidence_file is not None:
        w.extra["attachment"] = attachments.add(
            inst=inst,
            user=w.lead,
            filename="现场照片.jpg",
            content=evidence_file,
            content_type="image/jpeg",
            task_name="fieldwork",
        )
    commit()
    inst = w.do(inst, "fieldwork", w.lead, SITE)
    inst = w.do(
        inst,
        "conclusion",
        w.lead,
        {
            "verified_combustion": 12000,
            "verified_process": 0,
            "verified_electricity": 360,
            "verified_heat": 0,
            "opinion": "unqualified",
        },
    )
    w.do(inst, "independent_review", w.checker, {"decision": "approve"})
    w.db.session.expire_all()
    stmt = w.db.session.scalars(select(Statement)).one()
    return report, w.db.session.get(Verification, v.id), stmt
