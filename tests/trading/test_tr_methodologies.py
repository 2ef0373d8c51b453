"""Every formula checked against a hand computation; bad input answers 422 naming the field."""

from __future__ import annotations

import pytest

from app.trading import methodologies as m

# -- the formulas, computed by hand in the comments ------------------------------------------


def test_gbt33760_er_is_be_minus_pe_minus_le():
    # 1000.5 - 200.25 - 10 = 790.25
    r = m.calculate("gbt33760", {"baseline": "1000.5", "project": "200.25", "leakage": "10"})
    assert (r["baseline"], r["project"], r["leakage"]) == ("1000.500000", "200.250000",
                                                           "10.000000")
    assert r["reduction"] == "790.250000"
    assert [ln["name"] for ln in r["lines"]] == ["baseline", "project", "leakage", "ER"]
    assert all(ln["origin"] == "请求给出" for ln in r["lines"] if ln["kind"] == "parameter")


@pytest.mark.parametrize("tech,ef_cm,be", [
    # solar / wind: 0.75 × 0.9 + 0.25 × 0.5 = 0.675 + 0.125 = 0.8; BE = 10000 × 0.8 = 8000
    ("solar", "0.800", "8000.000000"),
    ("wind", "0.800", "8000.000000"),
    # other (hydro, biomass): 0.5 × 0.9 + 0.5 × 0.5 = 0.7; BE = 7000
    ("other", "0.70", "7000.000000"),
])
def test_grid_renewable_default_weights_by_technology(tech, ef_cm, be):
    r = m.calculate("grid_renewable", {"eg_net_mwh": "10000", "ef_om": "0.9", "ef_bm": "0.5",
                                       "technology": tech})
    terms = {ln["name"]: ln for ln in r["lines"] if ln["kind"] == "term"}
    assert terms["EF_CM"]["value"] == ef_cm
    assert r["baseline"] == be and r["project"] == "0.000000" and r["leakage"] == "0.000000"
    assert r["reduction"] == be
    weights = [ln for ln in r["lines"] if ln["name"] == "w_om"]
    assert weights[0]["origin"].startswith(f"按技术类型 {tech}")


def test_grid_renewable_explicit_weights_and_project_emissions():
    # EF_CM = 0.6 × 0.9 + 0.4 × 0.5 = 0.54 + 0.2 = 0.74; BE = 1234.5 × 0.74 = 913.53
    # ER = 913.53 - 13.53 - 0 = 900
    r = m.calculate("grid_renewable", {"eg_net_mwh": 1234.5, "ef_om": "0.9", "ef_bm": "0.5",
                                       "w_om": "0.6", "w_bm": "0.4", "pe": "13.53"})
    assert r["baseline"] == "913.530000"
    assert r["project"] == "13.530000"
    assert r["reduction"] == "900.000000"


def test_energy_efficiency_normalised_to_output():
    # E_b,norm = 1200 × 110 / 100 = 1320; BE = 1320 × 0.5 = 660; PE = 900 × 0.5 = 450
    # ER = 660 - 450 - 5 = 205
    r = m.calculate("energy_efficiency", {
        "baseline_energy": "1200", "baseline_output": "100", "project_energy": "900",
        "project_output": "110", "ef": "0.5", "leakage": "5"})
    assert (r["baseline"], r["project"], r["leakage"], r["reduction"]) == (
        "660.000000", "450.000000", "5.000000", "205.000000")
    terms = {ln["name"]: ln["value"] for ln in r["lines"] if ln["kind"] == "term"}
    assert terms["E_b,norm"] == "1320"


def test_energy_efficiency_leakage_defaults_to_zero_with_origin():
    # (300 × 1 / 1 - 100) × 2 = 400
    r = m.calculate("energy_efficiency", {
        "baseline_energy": "300", "baseline_output": "1", "project_energy": "100",
        "project_output": "1", "ef": "2"})
    assert r["reduction"] == "400.000000"
    le = next(ln for ln in r["lines"] if ln["name"] == "leakage")
    assert le["origin"].startswith("未给出")


def test_decimal_not_float():
    # 0.1 + 0.2 style: 0.3 - 0.1 - 0.2 is exactly 0 in Decimal
    r = m.calculate("gbt33760", {"baseline": "0.3", "project": "0.1", "leakage": "0.2"})
    assert r["reduction"] == "0.000000"


def test_every_methodology_names_its_sources_and_monitoring_plan():
    codes = {x["code"] for x in m.list_all()}
    assert {"gbt33760", "grid_renewable", "energy_efficiency"} <= codes
    for spec in m.list_all():
        assert spec["sources"] and spec["monitoring_plan"] and spec["formula"]


def test_grid_factors_unconfirmed_stay_empty_and_flagged():
    rows = m.grid_factors()
    assert rows
    for row in rows:
        assert row["source"]
        if row["status"] == "unconfirmed":
            assert row["ef_om"] is None and row["ef_bm"] is None


@pytest.mark.parametrize("code,params,field", [
    ("nope", {}, "methodology"),
    ("gbt33760", {"baseline": "1", "project": "1"}, "leakage"),
    ("gbt33760", {"baseline": "-1", "project": "1", "leakage": "0"}, "baseline"),
    ("gbt33760", {"baseline": "abc", "project": "1", "leakage": "0"}, "baseline"),
    ("gbt33760", {"baseline": "NaN", "project": "1", "leakage": "0"}, "baseline"),
    ("gbt33760", {"baseline": "1", "project": "1", "leakage": "0", "x": 1}, "x"),
    ("grid_renewable", {"ef_om": "1", "ef_bm": "1", "technology": "solar"}, "eg_net_mwh"),
    ("grid_renewable", {"eg_net_mwh": "1", "ef_om": "1", "ef_bm": "1"}, "technology"),
    ("grid_renewable", {"eg_net_mwh": "1", "ef_om": "1", "ef_bm": "1", "technology": "coal"},
     "technology"),
    ("grid_renewable", {"eg_net_mwh": "1", "ef_om": "1", "ef_bm": "1", "w_om": "0.5"}, "w_bm"),
    ("grid_renewable", {"eg_net_mwh": "1", "ef_om": "1", "ef_bm": "1", "w_om": "0.5",
                        "w_bm": "0.6"}, "w_bm"),
    ("energy_efficiency", {"baseline_energy": "1", "baseline_output": "0",
                           "project_energy": "1", "project_output": "1", "ef": "1"},
     "baseline_output"),
])
def test_bad_input_names_the_field(code, params, field):
    with pytest.raises(m.MethodologyError) as exc:
        m.calculate(code, params)
    assert field in exc.value.fields


# -- the API ----------------------------------------------------------------------------------


def test_api_calculate_shape(client, make_user, auth):
    h = auth(make_user("enterprise"))
    r = client.post("/api/v1/reductions/calculate", headers=h, json={
        "methodology": "grid_renewable",
        "parameters": {"eg_net_mwh": "10000", "ef_om": "0.9", "ef_bm": "0.5",
                       "technology": "solar"}})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert {"baseline", "project", "leakage", "reduction", "lines"} <= set(body)
    assert body["reduction"] == "8000.000000"


def test_api_calculate_errors_name_the_field(client, make_user, auth):
    h = auth(make_user("enterprise"))
    r = client.post("/api/v1/reductions/calculate", headers=h, json={
        "methodology": "gbt33760", "parameters": {"baseline": "x", "project": "1",
                                                  "leakage": "0"}})
    assert r.status_code == 422
    assert "baseline" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/reductions/calculate", headers=h, json={"parameters": {}})
    assert r.status_code == 422
    assert "methodology" in r.get_json()["error"]["fields"]


def test_api_calculate_needs_sign_in(client, db):
    r = client.post("/api/v1/reductions/calculate", json={"methodology": "gbt33760",
                                                          "parameters": {}})
    assert r.status_code == 401
