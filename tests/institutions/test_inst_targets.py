"""Base year and target: the straight line from the base value to the target value is the
yardstick; a partial year is compared month for month; bad targets are refused by field."""

from __future__ import annotations

from decimal import Decimal

from app.institutions import targets
from app.institutions.models import InstitutionTarget
from app.orgs.models import Institution
from tests.institutions.conftest import fill_year, month


def _totals(base: dict[int, str], cur: dict[int, str], year: int = 2026):
    return {(1, 2020): {m: (Decimal(v), Decimal(0)) for m, v in base.items()},
            (1, year): {m: (Decimal(v), Decimal(0)) for m, v in cur.items()}}


def _progress(pct: str, target_year: int, totals, year=None):
    inst = Institution(id=1, code="X", name="X", kind="public", region_code="330502",
                       base_year=2020)
    t = InstitutionTarget(institution_id=1, metric="co2", base_year=2020,
                          target_year=target_year, reduction_pct=Decimal(pct))
    return targets.progress(institution=inst, target=t, totals=totals, year=year)


def test_trajectory_on_track_at_risk_achieved():
    base = {m: "100" for m in range(1, 13)}  # 1,200 t in the base year
    # 30 % by 2030: in 2026 the line allows 1200 × (1 − 0.30 × 6/10) = 984 t
    p = _progress("30", 2030, _totals(base, {m: "82" for m in range(1, 13)}))
    assert p["allowed"] == Decimal("984.000") and p["actual"] == Decimal(984)
    assert p["status"] == "on_track" and p["expected_pct"] == Decimal("18.00")
    assert p["reduction_pct"] == Decimal("18.00")
    p = _progress("30", 2030, _totals(base, {m: "82.01" for m in range(1, 13)}))
    assert p["status"] == "at_risk" and p["gap"] == Decimal("0.120")
    p = _progress("30", 2030, _totals(base, {m: "70" for m in range(1, 13)}))
    assert p["status"] == "achieved" and p["goal"] == Decimal("840.000")
    # the target year is past: the whole reduction is due
    p = _progress("10", 2024, _totals(base, {m: "95" for m in range(1, 13)}))
    assert p["allowed"] == Decimal("1080.000") and p["status"] == "at_risk"


def test_partial_year_compared_with_the_same_base_months():
    base = {m: ("200" if m <= 2 else "50") for m in range(1, 13)}  # a heavy winter
    p = _progress("30", 2030, _totals(base, {1: "170", 2: "170"}))
    # Jan–Feb only: base 400, actual 340 (−15 %), allowed 400 × 0.82 = 328 → at risk
    assert p["months"] == 2 and p["base"] == Decimal(400)
    assert p["allowed"] == Decimal("328.000") and p["status"] == "at_risk"


def test_no_target_or_no_data():
    inst = Institution(id=1, code="X", name="X", kind="public", region_code="330502")
    assert targets.progress(institution=inst, target=None, totals={})["status"] == "no_target"
    p = _progress("30", 2030, {(1, 2020): {1: (Decimal(1), Decimal(0))}})
    assert p["status"] == "no_data"


def test_set_target_through_the_api(client, world):
    h = world["h"]["member_a"]
    fill_year(client, h, "PI-T-A", 2020, electricity=100)
    bad = client.put("/api/v1/institutions/PI-T-A/target", headers=h, json={
        "metric": "water", "base_year": 2021, "target_year": 2020, "reduction_pct": 120})
    assert bad.status_code == 422
    f = bad.get_json()["error"]["fields"]
    assert set(f) >= {"metric", "target_year", "reduction_pct"}
    partial = client.put("/api/v1/institutions/PI-T-A/target", headers=h, json={
        "metric": "co2", "base_year": 2021, "target_year": 2030, "reduction_pct": 20})
    assert "12 个月" in partial.get_json()["error"]["fields"]["base_year"]
    r = client.put("/api/v1/institutions/PI-T-A/target", headers=h, json={
        "metric": "co2", "base_year": 2020, "target_year": 2030, "reduction_pct": "30"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["target"]["reduction_pct"] == "30.000"
    # two months of 2025 at 60 % of the base: −40 % beats the line (15 % by 2025)
    for m in (1, 2):
        client.post("/api/v1/institutions/PI-T-A/energy",
                    json=month(2025, m, electricity=60, natural_gas=1), headers=h)
    prog = client.get("/api/v1/institutions/PI-T-A/target", headers=h).get_json()["progress"]
    assert prog["year"] == 2025 and prog["months"] == 2
    assert prog["status"] == "achieved"
    world["db"].session.refresh(world["a"])
    assert world["a"].base_year == 2020


def test_per_person_target_uses_each_years_headcount(client, world):
    """Emissions rise 10 % while people rise 25 %: per person it is a 12 % reduction."""
    h = world["h"]["member_a"]
    fill_year(client, h, "PI-T-A", 2020, electricity=100, gas=0)
    r = client.put("/api/v1/institutions/PI-T-A/target", headers=h, json={
        "metric": "energy", "basis": "per_capita", "base_year": 2020, "target_year": 2030,
        "reduction_pct": 10})
    assert "用能人数" in r.get_json()["error"]["fields"]["basis"]
    bad = client.put("/api/v1/institutions/PI-T-A/profiles/2020", headers=h,
                     json={"persons": 0, "floor_area": "abc"})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"persons", "floor_area"}
    future = client.put("/api/v1/institutions/PI-T-A/profiles/2099", headers=h,
                        json={"persons": 10, "floor_area": 10})
    assert "year" in future.get_json()["error"]["fields"]
    for year, persons in ((2020, 800), (2025, 1000)):
        r = client.put(f"/api/v1/institutions/PI-T-A/profiles/{year}", headers=h,
                       json={"persons": persons, "floor_area": "12,000.5"})
        assert r.status_code == 200, r.get_json()
    assert r.get_json()["profiles"][0] == {"year": 2020, "persons": 800,
                                           "floor_area": "12000.50"}
    r = client.put("/api/v1/institutions/PI-T-A/target", headers=h, json={
        "metric": "energy", "basis": "per_capita", "base_year": 2020, "target_year": 2030,
        "reduction_pct": 10})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["target"]["label"] == "人均综合能耗（吨标准煤/人）"
    fill_year(client, h, "PI-T-A", 2025, electricity=110, gas=0)
    prog = client.get("/api/v1/institutions/PI-T-A/target", headers=h).get_json()["progress"]
    # energy: 12 × 100 × 0.1229 = 147.48 tce / 800 = 0.18435 per person (base),
    #         12 × 110 × 0.1229 = 162.228 tce / 1000 = 0.162228 (2025): −12.00 %
    assert Decimal(prog["base"]) == Decimal("0.18435")
    assert Decimal(prog["actual"]) == Decimal("0.162228")
    assert prog["reduction_pct"] == "12.00" and prog["status"] == "achieved"
    for who in ("member_b", "reviewer", "enterprise"):
        r = client.put("/api/v1/institutions/PI-T-A/profiles/2024", headers=world["h"][who],
                       json={"persons": 1, "floor_area": 1})
        assert r.status_code in (403, 404), who
