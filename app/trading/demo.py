"""`cecp demo` for carbon trading: a photovoltaic and an energy-efficiency project of the
demo enterprise, each from registration through one monitoring report, verification by the
demo body and certification by the city reviewer (the real process, service layer), then a
transfer to the demo exchange's account (confirmed by it) and a retirement. Idempotent: a
project that exists is left as it is.

The PV project's year of readings and settlements is seeded through the exchange service
(`monitoring.seed_demo_monitoring`) and its report quantified from them
(`quantify.create_report`); the efficiency project's report from its declared parameters.
The OM / BM figures are DEMO values, not the MEE's published factors (those stay empty in
data/grid_factors.json until confirmed), and the report's derivation says so."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.trading.origins import DEMO_SOURCE

DEMO_EXCHANGE_USCC17 = "91330500MA0000002"  # the onboarding demo's exchange (exchange@demo)
DEMO_EXCHANGE_NAME = "示范环境能源交易所 碳资产账户"


def demo_exchange_code() -> str:
    """The exchange's institution code: its USCC, as its onboarded workspace is scoped."""
    from app.refdata.uscc import make_uscc

    return make_uscc(DEMO_EXCHANGE_USCC17)
PROJECTS = (
    ({"code": "HZPV01", "name": "湖州示范水泥厂区屋顶分布式光伏", "type": "photovoltaic",
      "methodology": "grid_renewable", "capacity_mw": "12.5", "location": "浙江省湖州市长兴县",
      "crediting_start": "2025-01-01", "crediting_end": "2031-12-31"},
     {"ef_om": "0.7921", "ef_bm": "0.3046",
      "source": DEMO_SOURCE}),
    ({"code": "HZEE01", "name": "湖州示范水泥余热发电与窑系统节能改造", "type": "efficiency",
      "methodology": "energy_efficiency", "location": "浙江省湖州市长兴县",
      "crediting_start": "2025-01-01", "crediting_end": "2031-12-31"},
     {"baseline_energy": "52000", "baseline_output": "1000000", "project_energy": "46500",
      "project_output": "1020000", "ef": "2.6604"}),
)


def load(enterprises: int, months: int) -> None:
    from app.demo import DEMO_VBODY, demo_enterprise_uscc
    from app.identity import service as accounts
    from app.identity.datascope import DataScope
    from app.trading import ledger, monitoring, quantify, service
    from app.trading.models import Project
    from app.uow import commit
    from app.workflow import deploy
    from app.workflow import service as workflow

    deploy.deploy_builtins()
    owner = accounts.get_by_email(email="enterprise@demo.cecp")
    verifier = accounts.get_by_email(email="verifier@demo.cecp")
    reviewer = accounts.get_by_email(email="reviewer@demo.cecp")
    everything = DataScope(all=True)
    exchange = ledger.exchange_account(institution_code=demo_exchange_code(),
                                       name=DEMO_EXCHANGE_NAME)
    for spec, params in PROJECTS:
        if db.session.scalar(select(Project.id).where(Project.code == spec["code"])):
            continue
        project = service.create(data={**spec, "enterprise": demo_enterprise_uscc()},
                                 scope=everything)
        period = {"period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}
        if spec["methodology"] == "grid_renewable":
            monitoring.seed_demo_monitoring(project=project, year=2025, user=owner)
            report = quantify.create_report(project=project, user=owner, factors=params,
                                            **period)
        else:
            report = quantify.create_report(project=project, user=owner, parameters=params,
                                            **period)
        commit()
        inst = workflow.start(model="reduction_certification",
                              data={"report_id": report.id, "body_code": DEMO_VBODY},
                              user=owner)
        commit()
        evidence = "电网公司上网电量结算单、计量器具检定证书、现场核查"
        steps = (("verify", verifier, {"verified_tonnes": float(report.reduction),
                                       "evidence": evidence, "opinion": "unqualified"}),
                 ("certify", reviewer, {"decision": "certify", "comment": "同意核证"}))
        for name, user, data in steps:
            task = next(t for t in workflow.current_tasks(inst=inst) if t.name == name)
            inst = workflow.complete(task_id=task.id, user=user, data=data)
            commit()
        db.session.refresh(report)
        if not report.lot_id:
            continue
        holding = ledger.holding_account(enterprise=project.enterprise)
        tonnes = report.certified_tonnes or 0
        moved = ledger.move(kind="transfer", lot_id=report.lot_id, from_account_id=holding.id,
                            to_account_id=exchange.id, quantity=max(1, tonnes // 2),
                            scope=everything, user=owner)
        for mv in moved:  # the exchange confirms receipt (as its machine client would)
            mv.confirmed_at, mv.confirmed_by = mv.created_at, "demo-exchange"
        ledger.move(kind="retire", lot_id=report.lot_id, from_account_id=holding.id,
                    quantity=max(1, tonnes // 10), reason="2025 年度自身排放抵销（示范）",
                    scope=everything, user=owner)
        commit()
