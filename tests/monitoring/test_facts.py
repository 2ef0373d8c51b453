"""Monthly facts: built from the current accounts, incremental refresh, catch-up, jobs."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from app.monitoring import facts
from app.monitoring.models import TOTAL, MonitoringCube, MonitoringFact


def _accounts_total(db, **where):
    from app.accounting.models import CarbonAccount

    stmt = select(func.sum(CarbonAccount.co2_total), func.sum(CarbonAccount.energy_tce)).where(
        CarbonAccount.is_current.is_(True))
    for k, v in where.items():
        stmt = stmt.where(getattr(CarbonAccount, k) == v)
    return db.session.execute(stmt).one()


def test_facts_and_cube_match_accounts(monitored):
    db = monitored
    co2, tce = _accounts_total(db)
    assert co2 > 0
    f_co2, f_tce = db.session.execute(select(func.sum(MonitoringFact.co2),
                                             func.sum(MonitoringFact.tce))
                                      .where(MonitoringFact.item == TOTAL)).one()
    c_co2 = db.session.scalar(select(func.sum(MonitoringCube.co2))
                              .where(MonitoringCube.item == TOTAL))
    assert f_co2 == co2 and f_tce == tce and c_co2 == co2
    # per-item rows add up to the total (biomass is reported apart, process has no tce)
    items = db.session.scalar(select(func.sum(MonitoringFact.co2))
                              .where(MonitoringFact.item != TOTAL))
    assert items == co2


def test_sector_and_division_are_denormalised(monitored):
    db = monitored
    rows = db.session.execute(select(MonitoringFact.industry_code, MonitoringFact.division,
                                     MonitoringFact.sector).distinct()).all()
    by_code = {r[0]: r for r in rows}
    assert by_code["3011"][1:] == ("30", "building_materials")
    assert by_code["3012"][1:] == ("30", None)  # lime is not a key-sector class


def test_new_month_reaches_facts_through_catch_up(monitored):
    """R-8.6: a recomputed account is visible after the sweep, without a full rebuild."""
    from app.accounting import service as accounting
    from app.energy.models import EnergyRecord

    db = monitored
    facts.catch_up()
    db.session.commit()
    assert facts.pending() == 0
    rec = db.session.scalar(select(EnergyRecord).order_by(EnergyRecord.id.desc()).limit(1))
    before = db.session.scalar(select(MonitoringFact.co2).where(
        MonitoringFact.enterprise_id == rec.enterprise_id, MonitoringFact.period == rec.period,
        MonitoringFact.item == TOTAL))
    for line in rec.lines:
        line.amount = line.amount * 2
    db.session.flush()
    acc = accounting.compute(record=rec, reason="测试")
    db.session.commit()
    assert facts.pending() == 1
    assert facts.catch_up() == 1
    db.session.commit()
    after = db.session.scalar(select(MonitoringFact.co2).where(
        MonitoringFact.enterprise_id == rec.enterprise_id, MonitoringFact.period == rec.period,
        MonitoringFact.item == TOTAL))
    assert after == acc.co2_total and after != before
    cube = db.session.scalar(select(func.sum(MonitoringCube.co2)).where(
        MonitoringCube.item == TOTAL, MonitoringCube.period == rec.period))
    assert cube == _accounts_total(db, period=rec.period)[0]
    assert facts.freshness()["label"].startswith("数据截至 ")


def test_refresh_job_runs_in_process_after_commit(monitored):
    """Without Redis the outbox runs `monitoring.refresh` right after the commit."""
    from app.accounting import service as accounting
    from app.energy.models import EnergyRecord
    from app.jobs.models import OutboxJob
    from app.jobs.outbox import enqueue
    from app.uow import commit

    db = monitored
    rec = db.session.scalar(select(EnergyRecord).order_by(EnergyRecord.id).limit(1))
    for line in rec.lines:
        line.amount = line.amount + 1
    db.session.flush()
    acc = accounting.compute(record=rec, reason="测试")
    enqueue("monitoring.refresh", enterprise_ids=[rec.enterprise_id], periods=[rec.period])
    commit()
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.name == "monitoring.refresh"))
    assert job.status == "done", job.last_error
    got = db.session.scalar(select(MonitoringFact.co2).where(
        MonitoringFact.enterprise_id == rec.enterprise_id, MonitoringFact.period == rec.period,
        MonitoringFact.item == TOTAL))
    assert got == acc.co2_total


def test_refresh_selection_leaves_other_rows(monitored):
    db = monitored
    n = db.session.scalar(select(func.count()).select_from(MonitoringFact))
    period = db.session.scalar(select(func.max(MonitoringFact.period)))
    written = facts.refresh_facts(periods=[period])
    assert 0 < written < n
    assert db.session.scalar(select(func.count()).select_from(MonitoringFact)) == n
    assert facts.refresh_facts(enterprise_ids=[], periods=None) == 0


def test_read_path_folds_in_small_backlog(monitored, make_user, client):
    """A page view folds pending accounts in before reading (aim: under a minute)."""
    from app.accounting import service as accounting
    from app.energy.models import EnergyRecord
    from tests.conftest import enrol_totp, login

    db = monitored
    facts.catch_up()
    db.session.commit()
    user = make_user("admin")
    enrol_totp(user)
    login(client, user)
    rec = db.session.scalar(select(EnergyRecord).order_by(EnergyRecord.id).limit(1))
    accounting.compute(record=rec, reason="测试")
    db.session.commit()
    assert facts.pending() == 1
    r = client.get("/api/v1/monitoring/region")
    assert r.status_code == 200
    db.session.expire_all()
    assert facts.pending() == 0
    assert Decimal(0) < Decimal(str(r.get_json()["summary"]["co2"]))
