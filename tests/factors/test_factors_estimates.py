"""Estimating from electricity: marked, with factor and interval, kept apart from GB/T 32150
accounting, included in a region's figures only when the region says so."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import enrol_totp, login


def test_estimates_marked_and_included_only_by_setting(db, make_ent, history):
    from app.factors import estimates, library
    from app.factors.models import ElectricityEstimate
    from app.identity.scope import DataScope

    ent = make_ent(61)
    history(ent, elec_only=(17,))          # 2024-06: electricity only
    newcomer = make_ent(62)                # no factor of its own: no estimate without peers
    history(newcomer, months=14, elec_only=(3, 12, 13))
    library.compute()
    s = estimates.estimate(region="330500", year=2024)
    assert s["estimated"] == 1 and s["without_factor"] == [newcomer.id]
    assert estimates.estimate(region="330500", year=2024)["estimated"] == 1  # idempotent
    row = db.session.query(ElectricityEstimate).one()
    f = library.current(enterprise_id=ent.id)
    assert row.period == 202406 and row.factor_id == f.id and row.factor_origin == "computed"
    expect = f.intercept + f.slope * row.electricity_mwh
    assert row.co2 == expect.quantize(Decimal("0.000001"))
    assert row.co2_low <= row.co2 <= row.co2_high

    all_scope = DataScope(all=True)
    fig = estimates.region_figures(region_code="330500", year=2024, scope=all_scope)
    assert fig["include_estimates"] is False and fig["total_t"] == fig["accounted_t"]
    assert "未计入" in fig["total_label"] and fig["estimated_months"] == 1
    estimates.set_setting(region_code="330000", include=True)
    fig = estimates.region_figures(region_code="330500", year=2024, scope=all_scope)
    assert fig["setting_from"] == "330000" and fig["include_estimates"] is True
    assert fig["total_t"] == pytest.approx(
        fig["accounted_t"] - fig["accounted_of_estimated_months_t"] + float(row.co2))
    assert "估算（电碳因子）" in fig["total_label"] and "1 家企业" in fig["total_label"]
    # the estimate is far above the grid-only account of that month
    assert float(row.co2) > 1.5 * fig["accounted_of_estimated_months_t"]


def test_estimates_page_scoped(client, db, make_ent, history, make_user):
    from app.factors import estimates, library

    ent = make_ent(71)
    history(ent, elec_only=(20,))
    library.compute()
    estimates.estimate(year=2024)
    db.session.commit()
    reviewer = make_user("reviewer", region="330500")
    enrol_totp(reviewer)
    login(client, reviewer)
    html = client.get("/factors/estimates?region=330500&year=2024").get_data(as_text=True)
    assert "估算（电碳因子）" in html and ent.name in html and "仅 GB/T 32150 核算" in html
    r = client.post("/factors/estimates/setting",
                    data={"region": "330500", "year": "2024", "include": "1"},
                    follow_redirects=True)
    assert "含估算（电碳因子）：1 家企业" in r.get_data(as_text=True)
    assert client.get("/factors/estimates?region=330100&year=2024").status_code == 404
    client.post("/auth/logout")
    owner = make_user("enterprise", enterprise=ent.uscc)
    login(client, owner)
    assert client.get("/factors/estimates?region=330500&year=2024").status_code == 403


def test_estimates_api(client, db, make_ent, history, make_user, auth):
    from app.factors import estimates, library

    ent = make_ent(72)
    history(ent, elec_only=(20,))
    library.compute()
    estimates.estimate(year=2024)
    db.session.commit()
    h = auth(make_user("reviewer", region="330500"))
    r = client.get("/api/v1/factors/estimates?region=330500&year=2024", headers=h)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["estimated_months"] == 1 and body["rows"][0]["label"] == "估算（电碳因子）"
    assert body["total_t"] == body["accounted_t"] and body["include_estimates"] is False
    assert client.get("/api/v1/factors/estimates?region=330100&year=2024",
                      headers=h).status_code == 404
    assert client.get("/api/v1/factors/estimates?region=330500&year=x",
                      headers=h).get_json()["error"]["fields"] == {"year": "取值无效"}
    owner = auth(make_user("enterprise", enterprise=ent.uscc))
    assert client.get("/api/v1/factors/estimates?region=330500&year=2024",
                      headers=owner).status_code == 403


def test_included_estimates_reach_monitoring_and_the_code_and_follow_changes(
        db, make_ent, history):
    """With the region's setting on, the month's total CO2 in the monitoring facts and the
    carbon efficiency code is the estimate (and each says how many months were estimated);
    off, the accounted figure. A changed record re-estimates by itself (the accounting
    change signal), and the facts follow."""
    from app.accounting import codes
    from app.accounting.models import CarbonAccount
    from app.factors import estimates, library
    from app.factors.models import ElectricityEstimate
    from app.identity.scope import DataScope
    from app.monitoring import facts
    from app.monitoring.models import MonitoringCube, MonitoringFact
    from app.uow import commit

    ent = make_ent(81)
    history(ent, elec_only=(17,))          # 2024-06: electricity only
    library.compute()
    estimates.estimate(region="330500", year=2024)
    commit()

    def total(period: int) -> MonitoringFact:
        db.session.expire_all()
        return db.session.query(MonitoringFact).filter_by(
            enterprise_id=ent.id, period=period, item="*").one()

    accounted = db.session.query(CarbonAccount).filter_by(
        enterprise_id=ent.id, period=202406, is_current=True).one().co2_total
    facts.refresh_facts()
    commit()
    assert total(202406).co2 == accounted and total(202406).estimated == 0
    estimates.set_setting(region_code="330500", include=True)
    commit()  # the setting's change refreshes the region's facts (job in-process)
    est = db.session.query(ElectricityEstimate).one()
    assert total(202406).estimated == 1
    assert abs(total(202406).co2 - est.co2) < Decimal("0.001")
    cube = db.session.query(MonitoringCube).filter_by(period=202406, item="*").all()
    assert sum(c.estimated for c in cube) == 1
    from app.monitoring import cube as cube_mod
    from app.monitoring.filters import Filters

    f = Filters(year=2024, month=6, grain="month")
    assert cube_mod.summary(DataScope(all=True), f)["estimated"] == 1

    # the year's code counts the estimate in, and says it did
    codes.issue(periods=[202400 + m for m in range(1, 13)])
    commit()
    code = codes.current_for(enterprise_id=ent.id, period_key="2024")
    year_accounts = sum(a.co2_total for a in db.session.query(CarbonAccount).filter(
        CarbonAccount.enterprise_id == ent.id, CarbonAccount.year == 2024,
        CarbonAccount.is_current.is_(True)))
    assert code.estimated_months == 1
    assert abs(code.co2 - (year_accounts - accounted + est.co2)) < Decimal("0.001")
    month_code = codes.current_for(enterprise_id=ent.id, period_key="2024-05")
    assert month_code is None or month_code.estimated_months == 0

    # the record of June gets its coal after all: no longer a candidate, the estimate goes
    # and the facts show the account again — nobody ran anything by hand
    from app.energy import records
    from app.energy.models import EnergyRecord

    rec = db.session.query(EnergyRecord).filter_by(enterprise_id=ent.id, period=202406).one()
    lines = [{"item": ln.item, "flow": ln.flow, "amount": str(ln.amount), "unit": ln.unit}
             for ln in rec.lines] + [{"item": "bituminous_coal", "flow": "consumed",
                                      "amount": "300", "unit": "t"}]
    records.update(record=rec, data={"lines": lines, "gross_output": str(rec.gross_output),
                                     "value_added": str(rec.value_added)},
                   scope=DataScope(all=True))
    commit()
    assert db.session.query(ElectricityEstimate).count() == 0
    new_total = db.session.query(CarbonAccount).filter_by(
        enterprise_id=ent.id, period=202406, is_current=True).one().co2_total
    assert total(202406).estimated == 0 and total(202406).co2 == new_total
