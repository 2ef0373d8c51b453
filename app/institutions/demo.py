"""Demo: the public institutions of the demo city (the monitoring demo created them with
their base year and the last twelve months) get the rest of last year, targets, and the
demo school (institution@demo.cecp) a disclosure of last year published through the real
process (submitted by the school, approved by reviewer@demo.cecp). Idempotent."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.demo import demo_school_code
from app.extensions import db
from app.institutions import disclosure, targets
from app.institutions.inventory import annual_totals
from app.orgs.models import Institution

DEMO_SCHOOL = demo_school_code()
#: code -> (metric, target year, reduction %): on track, at risk, achieved
TARGETS = {DEMO_SCHOOL: ("co2", 2030, "30"), "PI-330500-002": ("co2", 2028, "50"),
           "PI-330500-003": ("energy", 2030, "15")}


def _fill_year(inst: Institution, year: int) -> None:
    """Months of `year` not yet there, with the monitoring demo's pattern (4 % a year less
    than the base year, more in winter and summer)."""
    from app.monitoring.institutions import record_month

    have = set(annual_totals([inst.id]).get((inst.id, year), {}))
    rnd = random.Random(f"{inst.code}-{year}")
    size = random.Random(inst.code).uniform(0.6, 2.0)
    saving = 1 - 0.04 * (year - (inst.base_year or year))
    today = date.today()
    for m in range(1, 13):
        if m in have or year * 100 + m > today.year * 100 + today.month:
            continue
        season = 1.25 if m in (1, 2, 7, 8, 12) else 1.0
        record_month(institution=inst, year=year, month=m, lines=[
            {"item": "electricity",
             "amount": round(120 * size * season * saving * rnd.uniform(0.95, 1.05), 3)},
            {"item": "natural_gas",
             "amount": round(0.8 * size * season * saving * rnd.uniform(0.9, 1.1), 4)}])


def load_demo(enterprises: int, months: int) -> None:
    from app.identity import service as accounts
    from app.uow import commit
    from app.workflow import deploy
    from app.workflow import service as workflow

    last = date.today().year - 1
    insts = {i.code: i for i in db.session.scalars(select(Institution).where(
        Institution.code.in_(list(TARGETS))))}
    for code, (metric, year, pct) in TARGETS.items():
        inst = insts.get(code)
        if inst is None or inst.base_year is None:
            continue
        _fill_year(inst, last)
        if targets.get(institution=inst) is None:
            targets.set_target(institution=inst, user=None, data={
                "metric": metric, "base_year": inst.base_year, "target_year": year,
                "reduction_pct": Decimal(pct)})
    school = insts.get(DEMO_SCHOOL)
    if school is not None and school.base_year and not targets.profiles(institution=school):
        for year, persons in ((school.base_year, 1180), (last, 1260)):  # 用能人数, 建筑面积
            targets.set_profile(institution=school, year=year, user=None,
                                data={"persons": persons, "floor_area": "36500"})
    member = accounts.get_by_email(email="institution@demo.cecp")
    reviewer = accounts.get_by_email(email="reviewer@demo.cecp")
    if school is None or member is None or reviewer is None or disclosure.get(
            institution=school, year=last) is not None:
        return
    commit()
    deploy.deploy_builtins()
    inst = workflow.start(model=disclosure.PROCESS,
                          data={"institution": school.code, "year": last}, user=member)
    commit()
    task = next(t for t in workflow.current_tasks(inst=inst) if t.name == "review")
    workflow.complete(task_id=task.id, user=reviewer,
                      data={"decision": "approve"})
    commit()
