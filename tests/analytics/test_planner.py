"""The grade-improvement planner: the target formula and every measure checked by hand
against GB/T 32150 (R-10.3, R-4b)."""

from decimal import Decimal as D

import pytest

from app.accounting import codes, engine
from app.analytics import planner, plans
from app.energy import service as energy
from app.energy.service import get_current


def test_target_formula_by_hand():
    # c = 100, v = 50, benchmark C = 1000, V = 1000, bound u = 0.8:
    # c' = 0.8 * (1000 - 100) / (1000/50 - 0.8) = 720 / 19.2 = 37.5
    c = planner.target_co2(co2=D(100), va=D(50), bench_co2=D(1000), bench_va=D(1000),
                           basis="K", upper=D("0.8"))
    assert c == D("37.500000")
    # and at that figure K' is exactly the bound: (37.5/50) / (937.5/1000) = 0.8
    assert planner.k_after(co2_new=c, co2_old=D(100), va=D(50), bench_co2=D(1000),
                           bench_va=D(1000)) == D("0.8000")
    assert planner.target_co2(co2=D(100), va=D(50), bench_co2=None, bench_va=None,
                              basis="intensity", upper=D("1.5")) == D("75.000000")


def test_bad_measures_name_the_field():
    with pytest.raises(planner.PlanError) as e:
        planner.parse_measures([{"kind": "efficiency", "pct": "120"}])
    assert e.value.field == "measures.0.pct"
    with pytest.raises(planner.PlanError) as e:
        planner.parse_measures([{"kind": "pv", "kwp": "100"}])
    assert e.value.field == "measures.0.hours"
    with pytest.raises(planner.PlanError) as e:
        planner.parse_measures([{"kind": "magic"}])
    assert e.value.field == "measures.0.kind"


def _one_year(province):
    ents = province(6)
    return ents[0], 2025


def test_measures_by_hand(province):
    ent, year = _one_year(province)
    recs = plans.planner.records_for(enterprise_id=ent.id, year=year)
    coal = sum(D(ln.amount) for r in recs for ln in r.lines if ln.item == "anthracite")
    mwh = sum(D(ln.amount) for r in recs for ln in r.lines if ln.item == "electricity")
    anth = get_current(code="combustion:anthracite")
    gas = get_current(code="combustion:natural_gas")
    k = D(44) / D(12)
    coal_ef = anth.ncv * anth.carbon_content * anth.oxidation_rate * k
    gas_c_per_gj = gas.carbon_content * gas.oxidation_rate  # tC per GJ burnt
    # the grid factor the account itself used (the library's resolution is tested elsewhere)
    grid = energy.resolve(year=year, month=6, region_code=ent.region_code) \
        .factors["electricity"].value
    base = plans.evaluate(enterprise=ent, year=year, measures=[
        {"kind": "efficiency", "pct": "0"}])
    assert base["reduction"] == 0
    assert abs(base["before"]["co2_total"] - (coal * coal_ef + mwh * grid)) < D("0.0001")

    # efficiency 10 %: every input 10 % less -> 10 % less CO2 (up to 1 g per line rounding)
    r = plans.evaluate(enterprise=ent, year=year, measures=[{"kind": "efficiency", "pct": 10}])
    assert abs(r["reduction"] - base["before"]["co2_total"] * D("0.1")) < D("0.0001")

    # all coal to gas: same energy (t × 26.7 GJ/t) burnt as gas
    r = plans.evaluate(enterprise=ent, year=year, measures=[{"kind": "coal_to_gas",
                                                              "share": 100}])
    expected = coal * anth.ncv * (anth.carbon_content * anth.oxidation_rate
                                  - gas_c_per_gj) * k
    assert abs(r["reduction"] - expected) < D("0.001")
    assert r["after"]["co2_electricity"] == r["before"]["co2_electricity"]

    # half the grid electricity bought green
    r = plans.evaluate(enterprise=ent, year=year, measures=[{"kind": "green_power",
                                                              "share": 50}])
    assert abs(r["reduction"] - mwh * grid / 2) < D("0.0001")

    # PV: 120 kWp x 1000 h = 120 MWh a year, 10 MWh a month, all self-consumed
    r = plans.evaluate(enterprise=ent, year=year, measures=[{"kind": "pv", "kwp": 120,
                                                              "hours": 1000}])
    assert abs(r["reduction"] - D(120) * grid) < D("0.0001")


def test_plan_targets_and_grade_after(province):
    from sqlalchemy import select

    from app.accounting.models import IndustryBenchmark as B
    from app.extensions import db

    ent, year = _one_year(province)
    code = codes.current_for(enterprise_id=ent.id, period_key=str(year))
    assert code.graded
    p = plans.plan(enterprise=ent, year=year)
    assert p["grade"] == code.grade
    for t in p["targets"]:
        # cutting exactly the stated amount reaches the bound
        b = db.session.scalar(select(B).where(B.period_key == str(year), B.is_current,
                                              B.industry_code == code.industry_code))
        k = engine.k_value(t["co2_max"], code.value_added,
                           b.co2_total - code.co2 + t["co2_max"], b.value_added_total)
        assert abs(k - t["upper"]) <= D("0.0001")
    r = plans.evaluate(enterprise=ent, year=year, measures=[{"kind": "efficiency", "pct": 40}])
    assert r["grade_after"] <= r["grade_before"]
    assert r["k_after"] < code.k_value


def test_saved_scenario_is_audited_and_exported(province):
    from sqlalchemy import select

    from app.audit.models import AuditRecord
    from app.extensions import db

    ent, year = _one_year(province)
    s = plans.save_scenario(enterprise=ent, year=year, name="煤改气一半",
                            measures=[{"kind": "coal_to_gas", "share": 50}])
    db.session.commit()
    assert [x.name for x in plans.scenarios(enterprise=ent, year=year)] == ["煤改气一半"]
    assert db.session.scalar(select(AuditRecord).where(
        AuditRecord.action == "analytics.scenario.create", AuditRecord.object_id == str(s.id)))
    body, mime = plans.export_scenarios(enterprise=ent, fmt="csv")
    text = body.decode("utf-8-sig")
    assert "煤改气一半" in text and "减排量" in text
    with pytest.raises(planner.PlanError):
        plans.save_scenario(enterprise=ent, year=year, name=" ", measures=[])
