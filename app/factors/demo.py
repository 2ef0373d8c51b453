"""`cecp demo`: the illustrative 31-province year, the demo enterprises' factors and the
estimates from electricity (runs after the accounting demo, whose accounts it fits), and one
third-party check of the demo enterprise's factor by the demo verification body (runs after
the verification demo, which creates the body and its verifier)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.factors import estimates, library, regional


def load(enterprises: int, months: int) -> None:
    regional.load_demo()
    library.compute(min_months=min(library.MIN_MONTHS, max(months, 3)))
    estimates.estimate()
    _check_demo_factor()


def _check_demo_factor() -> None:
    """The real process: the city reviewer sends the factor to the demo body, whose verifier
    confirms the platform's computed errors; the signed statement lands in the document store
    and a passed factor becomes a certified version. Idempotent: once per demo database."""
    from app.demo import DEMO_VBODY, demo_enterprise_uscc
    from app.factors import checks
    from app.factors.models import FactorCheck
    from app.identity import service as accounts
    from app.orgs.models import Enterprise
    from app.uow import commit
    from app.workflow import deploy
    from app.workflow import service as workflow

    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == demo_enterprise_uscc()))
    if ent is None or library.current(enterprise_id=ent.id) is None:
        return
    if db.session.scalar(select(FactorCheck.id).where(FactorCheck.enterprise_id == ent.id)):
        return
    reviewer = accounts.get_by_email(email="reviewer@demo.cecp")
    verifier = accounts.get_by_email(email="verifier@demo.cecp")
    if reviewer is None or verifier is None:
        return
    deploy.deploy_builtins()
    inst = checks.start_check(user=reviewer, tolerance_pct=10, enterprise=ent,
                              body_code=DEMO_VBODY)
    commit()
    task = next(t for t in workflow.current_tasks(inst=inst) if t.name == "verify")
    workflow.complete(task_id=task.id, user=verifier,
                      data={"decision": "confirm", "comment": "抽查 3 个月用电与核算排放，一致"})
    commit()
