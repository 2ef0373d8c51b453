"""The shipped reference data load, are complete where required and carry sources."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

import pytest

from app.refdata import (
    find_factor,
    get_factor,
    grid_region_of,
    load_energy_types,
    load_factors,
    load_grading_schemes,
    load_grid_regions,
    load_industries,
    load_regions,
    load_sectors,
    province_code,
    region_prefix,
    verify_manifest,
)

ZHEJIANG_CITIES = {
    "330100": "杭州市",
    "330200": "宁波市",
    "330300": "温州市",
    "330400": "嘉兴市",
    "330500": "湖州市",
    "330600": "绍兴市",
    "330700": "金华市",
    "330800": "衢州市",
    "330900": "舟山市",
    "331000": "台州市",
    "331100": "丽水市",
}
HUZHOU = {
    "330502": "吴兴区",
    "330503": "南浔区",
    "330521": "德清县",
    "330522": "长兴县",
    "330523": "安吉县",
}


def test_all_34_provincial_units() -> None:
    provinces = {r.code: r.name for r in load_regions() if r.level == "province"}
    assert len(provinces) == 34
    assert provinces["710000"] == "台湾省"
    assert provinces["810000"] == "香港特别行政区"
    assert provinces["820000"] == "澳门特别行政区"
    assert provinces["330000"] == "浙江省"


def test_zhejiang_cities_huzhou_and_hangzhou_districts() -> None:
    regions = {r.code: r for r in load_regions()}
    zj = {r.code: r.name for r in regions.values() if r.parent_code == "330000"}
    assert zj == ZHEJIANG_CITIES
    assert {c: r.name for c, r in regions.items() if r.parent_code == "330500"} == HUZHOU
    hangzhou = {c for c, r in regions.items() if r.parent_code == "330100"}
    assert {"330102", "330105", "330106", "330108", "330113", "330114"} <= hangzhou
    assert "330103" not in regions and "330104" not in regions  # 下城区、江干区 abolished 2021
    jiangsu = [r for r in regions.values() if r.parent_code == "320000"]
    assert len(jiangsu) == 13


def test_region_prefix_and_province() -> None:
    assert region_prefix("330000") == "33"
    assert region_prefix("330500") == "3305"
    assert region_prefix("330502") == "330502"
    assert province_code("330523") == "330000"
    with pytest.raises(ValueError):
        region_prefix("3305")


def test_grid_regions_cover_every_mainland_province() -> None:
    mainland = [
        r.code
        for r in load_regions()
        if r.level == "province" and r.code[:2] not in ("71", "81", "82")
    ]
    uncovered = [c for c in mainland if c != "150000" and grid_region_of(c) is None]
    assert uncovered == []
    assert grid_region_of("330502") == "grid_east"
    assert grid_region_of("150400") == "grid_northeast"  # 赤峰 (蒙东)
    assert grid_region_of("150100") == "grid_north"  # 呼和浩特 (蒙西)
    assert grid_region_of("150000") is None  # Inner Mongolia as a whole spans two grids
    assert len(load_grid_regions()) == 7


def test_industry_sections_and_divisions() -> None:
    industries = load_industries()
    sections = [i for i in industries if i.level == "section"]
    divisions = [i for i in industries if i.level == "division"]
    assert [s.code for s in sections] == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    assert [d.code for d in divisions] == [f"{n:02d}" for n in range(1, 98)]
    by_code = {i.code: i for i in industries}
    assert by_code["C"].name == "制造业"
    assert by_code["26"].parent_code == "C" and by_code["26"].name == "化学原料和化学制品制造业"
    assert by_code["3011"].name == "水泥制造" and by_code["3216"].name == "铝冶炼"
    assert by_code["4412"].name == "热电联产" and by_code["97"].parent_code == "T"


def test_eight_key_sectors_map_to_existing_codes() -> None:
    sectors = {s.id: s for s in load_sectors()}
    assert set(sectors) == {
        "power",
        "petrochemicals",
        "chemicals",
        "building_materials",
        "steel",
        "nonferrous",
        "paper",
        "aviation",
    }
    by_code = {i.code: i for i in load_industries()}
    for sector in sectors.values():
        assert sector.source and sector.codes
        for code in sector.codes:
            assert by_code[code].sector == sector.id
    assert by_code["2614"].sector == "chemicals"
    assert by_code["3012"].sector is None  # lime is not in the market's building-materials scope


def test_energy_types_required_and_decimal() -> None:
    energy = {e.code: e for e in load_energy_types()}
    required = {
        "raw_coal",
        "anthracite",
        "bituminous_coal",
        "lignite",
        "washed_coal",
        "coke",
        "crude_oil",
        "fuel_oil",
        "gasoline",
        "diesel",
        "kerosene",
        "lpg",
        "lng",
        "refinery_gas",
        "natural_gas",
        "coke_oven_gas",
        "blast_furnace_gas",
        "converter_gas",
        "electricity",
        "heat",
        "biomass",
    }
    assert required <= set(energy)
    assert energy["raw_coal"].tce_factor == Decimal("0.7143")
    assert (
        energy["electricity"].tce_factor == Decimal("0.1229")
        and energy["electricity"].unit == "MWh"
    )
    assert energy["heat"].tce_factor == Decimal("0.03412") and energy["heat"].unit == "GJ"
    assert energy["natural_gas"].tce_factor == Decimal("12.143")
    assert energy["biomass"].category == "biomass"
    # 389.31 GJ/10^4Nm3 x 15.3e-3 tC/GJ x 0.99 x 44/12 = 21.62 tCO2/10^4Nm3 (2.162 kgCO2/m3)
    assert energy["natural_gas"].co2_per_unit().quantize(Decimal("0.01")) == Decimal("21.62")
    assert energy["diesel"].co2_per_unit().quantize(Decimal("0.0001")) == Decimal("3.0959")
    for e in energy.values():
        for f in fields(e):
            value = getattr(e, f.name)
            assert not isinstance(value, float), (e.code, f.name)
        if e.tce_factor is not None:
            assert e.tce_source
        if e.ncv is not None or e.carbon_content is not None:
            assert e.param_source


def test_every_factor_has_source_and_decimal_value() -> None:
    factors = load_factors()
    assert len({f.id for f in factors}) == len(factors)
    for f in factors:
        assert f.source.strip(), f.id
        assert isinstance(f.value, Decimal), f.id


@pytest.mark.parametrize(
    ("kind", "scope", "year", "value"),
    [
        ("grid_electricity_ets", "national", 2021, "0.5810"),
        ("grid_electricity_ets", "national", 2022, "0.5703"),
        ("grid_electricity", "national", 2021, "0.5568"),
        ("grid_electricity", "national", 2022, "0.5366"),
        ("grid_electricity", "national", 2023, "0.5306"),
        ("grid_electricity_residual", "national", 2022, "0.5856"),
        ("grid_electricity_fossil", "national", 2023, "0.8273"),
        ("grid_electricity", "grid_east", 2022, "0.5617"),
        ("grid_electricity", "330000", 2023, "0.4974"),
        ("heat", "generic", 2015, "0.11"),
    ],
)
def test_key_factor_values(kind: str, scope: str, year: int, value: str) -> None:
    factor = find_factor(kind, scope, year)
    assert factor is not None and factor.value == Decimal(value)


def test_provincial_factors_cover_30_provinces_each_year() -> None:
    for year in (2021, 2022, 2023):
        provinces = {
            f.scope
            for f in load_factors()
            if f.kind == "grid_electricity" and f.year == year and f.scope.isdigit()
        }
        assert len(provinces) == 30, year  # the notices publish 30 provinces (no 西藏, 港澳台)


def test_superseded_chain_for_market_factor() -> None:
    factors = {f.id: f for f in load_factors()}
    current = factors["ets_grid_2022"]
    assert current.status == "active" and current.supersedes == "ets_grid_2021"
    assert factors["ets_grid_2021"].status == "superseded"


def test_grading_schemes_present() -> None:
    schemes = {s.id: s for s in load_grading_schemes()}
    k = schemes["zj_carbon_efficiency_k"]
    assert k.basis == "K" and [t.upper for t in k.thresholds] == [
        Decimal("0.6"),
        Decimal("0.8"),
        Decimal("1.2"),
        Decimal("2.0"),
        None,
    ]
    assert [t.label for t in k.thresholds] == ["一级", "二级", "三级", "四级", "五级"]
    tiers = schemes["zj_carbon_intensity_tiers"]
    assert tiers.basis == "intensity" and tiers.unit == "tCO2/万元"
    assert all(s.source for s in schemes.values())


def test_manifest_matches_files() -> None:
    entries = verify_manifest()
    assert {
        "regions.csv",
        "gb2260.csv",
        "industries.csv",
        "sectors.csv",
        "energy_types.csv",
        "factors.csv",
        "grid_regions.csv",
        "grading_schemes.json",
    } == set(entries)


def test_process_factors_by_id() -> None:
    assert get_factor("process_caco3").value == Decimal("0.43971")
    assert get_factor("process_camgco3_2").unit == "tCO2/t carbonate"
    with pytest.raises(ValueError):
        find_factor("process", "generic", 2006)
    with pytest.raises(KeyError):
        get_factor("no_such_factor")


def test_unverified_rows_are_flagged_not_hidden() -> None:
    flagged = [f.id for f in load_factors() if f.needs_verification]
    assert "process_clinker_ipcc" in flagged  # one public transcription only
    assert "ets_grid_2022" not in flagged  # value in two independent sources (v1.3)
    assert "grid_2021_330000" not in flagged  # cross-checked against two transcriptions (v1.2)
    assert "grid_2023_330000" not in flagged  # two independent transcriptions agree
    assert not get_factor("ets_grid_2021").needs_verification


def test_every_fossil_fuel_has_complete_parameters_or_a_reason() -> None:
    """Each fossil fuel can be accounted from the library alone, except raw coal (原煤), for
    which the default table gives no carbon content: measured values are then required."""
    energy = {e.code: e for e in load_energy_types()}
    for e in energy.values():
        if e.category not in ("coal", "oil", "gas"):
            continue
        if e.code == "raw_coal":
            assert e.carbon_content is None and "no default" in e.note
            continue
        assert None not in (e.ncv, e.carbon_content, e.oxidation_rate, e.tce_factor), e.code
        assert not e.needs_verification, e.code


def test_computed_tce_factors_follow_from_the_heat_value() -> None:
    """Where GB/T 2589 lists no coefficient, tce = NCV ÷ 29.3076 GJ/tce (1 kgce = 29307.6 kJ)."""
    computed = [e for e in load_energy_types() if e.tce_source.startswith("计算值")]
    assert {e.code for e in computed} >= {"anthracite", "bituminous_coal", "lignite", "lng",
                                          "coke_oven_gas", "converter_gas"}
    for e in computed:
        assert e.tce_factor == (e.ncv / Decimal("29.3076")).quantize(Decimal("0.0001")), e.code
    # anthracite: 26.7 GJ/t ÷ 29.3076 = 0.91102…
    assert {e.code: e for e in computed}["anthracite"].tce_factor == Decimal("0.9110")
