"""GB/T 32150 engine against hand-computed cases (R-6.1.3): each fuel class, electricity,
heat, exports, process emissions, biomass outside the total."""

from decimal import Decimal as D

import pytest

from app.accounting import engine
from app.accounting.engine import Factor, Line


def fuel(item, category, amount, ncv, cc, of, tce=None, unit="t"):
    return Line(flow="consumed", item=item, category=category, amount=D(amount), unit=unit,
                factor=Factor(kind="combustion", ncv=D(ncv), carbon_content=D(cc),
                              oxidation_rate=D(of), id=1, code=f"combustion:{item}", version=1),
                tce_factor=None if tce is None else D(tce))


def test_coal_combustion_hand_computed():
    # 100 t x 20.908 GJ/t = 2090.8 GJ; x 0.02637 tC/GJ = 55.134396 tC; x 0.94 = 51.82633224;
    # x 44/12 = 190.02988488 -> 190.029885 tCO2
    r = engine.calculate([fuel("raw_coal", "coal", "100", "20.908", "0.02637", "0.94",
                               tce="0.7143")])
    assert r.co2_combustion == D("190.029885")
    assert r.co2_total == D("190.029885")
    assert r.energy_tce == D("71.430000")
    line = r.lines[0]
    assert line.bucket == "combustion" and "44/12" in line.formula
    assert line.factor_code == "combustion:raw_coal" and line.factor_version == 1


def test_oil_combustion_hand_computed():
    # 10 t diesel x 42.652 x 0.0202 x 0.98 = 8.44338992 tC x 44/12 = 30.959096(37) tCO2
    r = engine.calculate([fuel("diesel", "oil", "10", "42.652", "0.0202", "0.98")])
    assert r.co2_total == D("30.959096")


def test_gas_combustion_rounds_half_up():
    # 50 x 389.31 x 0.0153 x 0.99 = 294.8439285 tC x 44/12 = 1081.0944045 -> 1081.094405
    r = engine.calculate([fuel("natural_gas", "gas", "50", "389.31", "0.0153", "0.99",
                               unit="10^4 Nm3")])
    assert r.co2_total == D("1081.094405")


def test_electricity_heat_purchase_and_export():
    ef = Factor(kind="grid_electricity", value=D("0.5703"), id=7, code="ets_grid_2022",
                version=1)
    heat = Factor(kind="heat", value=D("0.11"), id=8, code="heat_default", version=1)
    lines = [
        Line("purchased", "electricity", "electricity", D("1000"), "MWh", ef, D("0.1229")),
        Line("exported", "electricity", "electricity", D("200"), "MWh", ef, D("0.1229")),
        Line("purchased", "heat", "heat", D("500"), "GJ", heat, D("0.03412")),
        Line("exported", "heat", "heat", D("100"), "GJ", heat, D("0.03412")),
        Line("self_generated", "electricity", "electricity", D("50"), "MWh", ef, D("0.1229")),
    ]
    r = engine.calculate(lines)
    assert r.co2_electricity == D("570.300000")            # 1000 x 0.5703
    assert r.co2_electricity_exported == D("114.060000")   # 200 x 0.5703
    assert r.co2_heat == D("55.000000")                    # 500 x 0.11
    assert r.co2_heat_exported == D("11.000000")           # 100 x 0.11
    assert r.co2_total == D("570.3") - D("114.06") + D("55") - D("11")
    assert r.electricity_mwh == D("800")
    # tce: (1000 - 200) x 0.1229 + (500 - 100) x 0.03412; renewable not counted
    assert r.energy_tce == D("98.32") + D("13.648")
    assert r.lines[4].bucket == "renewable" and r.lines[4].co2 == 0


def test_process_emissions_and_generic_line():
    caco3 = Factor(kind="process", value=D("0.43971"), id=9, code="process_caco3", version=1)
    r = engine.calculate([
        Line("process", "process_caco3", "process", D("1000"), "t", caco3),
        Line("process", "generic", "process", D("20"), "t", None, factor_value=D("1.5")),
    ])
    assert r.co2_process == D("439.71") + D("30")
    assert r.energy_tce == 0
    assert r.lines[1].parameter_origin == "given"


def test_biomass_reported_apart_from_total():
    r = engine.calculate([
        Line("consumed", "biomass", "biomass", D("100"), "t", None, ncv=D("12"),
             carbon_content=D("0.029"), oxidation_rate=D("0.9")),
        fuel("diesel", "oil", "10", "42.652", "0.0202", "0.98"),
    ])
    assert r.co2_biomass == D("114.840000")   # 100 x 12 x 0.029 x 0.9 x 44/12
    assert r.co2_total == D("30.959096")      # diesel only
    assert r.lines[0].parameter_origin == "measured"


def test_measured_parameters_override_library():
    base = fuel("raw_coal", "coal", "100", "20.908", "0.02637", "0.94")
    measured = Line(**{**base.__dict__, "ncv": D("21.5")})
    r = engine.calculate([measured])
    assert r.lines[0].ncv == D("21.5") and r.lines[0].parameter_origin == "measured+library"


def test_intensity_and_energy_per_output():
    r = engine.calculate([fuel("diesel", "oil", "10", "42.652", "0.0202", "0.98", "1.4571")],
                         gross_output=D("300"), value_added=D("100"))
    assert r.intensity == D("0.309591")       # 30.959096 / 100
    assert r.energy_per_output == D("0.048570")   # 14.571 / 300
    assert engine.calculate([], value_added=D("0")).intensity is None


def test_bad_lines_raise_with_field():
    with pytest.raises(engine.EngineError) as exc:
        engine.calculate([Line("consumed", "raw_coal", "coal", D("1"), "t", None)])
    assert exc.value.field == "lines.0.ncv"
    with pytest.raises(engine.EngineError) as exc:
        engine.calculate([Line("purchased", "diesel", "oil", D("1"), "t", None)])
    assert exc.value.field == "lines.0.flow"


def test_k_value_is_one_exact_quotient():
    # enterprise 60 t / 100 万元 against industry 1000 t / 1000 万元 -> K = 0.6
    assert engine.k_value(D("60"), D("100"), D("1000"), D("1000")) == D("0.6000")
    assert engine.k_value(D("1"), D("3"), D("1"), D("1")) == D("0.3333")
