"""R-6.1.5: the CDIAC import (units, names), comparison, shares, trend, API, public page."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

from sqlalchemy import func, select

from app.monitoring import countries
from app.monitoring.models import CountryEmission
from tests.monitoring.conftest import CDIAC


def test_unit_conversion_is_exact():
    """2,915,650 kt C x 44/12 / 1000 = 10,690.716667 Mt CO2 (not 2,915 Mt, not 10.69)."""
    assert countries.kt_c_to_mt_co2(Decimal(2915650)) == Decimal("10690.716667")
    assert countries.kt_c_to_mt_co2(Decimal(12)) == Decimal("0.044000")


def test_mapping_covers_every_name_in_the_data():
    mapping = countries.load_mapping()
    with CDIAC.open(encoding="utf-8") as fh:
        names = {r["Country"] for r in csv.DictReader(fh)}
    assert names <= set(mapping), sorted(names - set(mapping))
    assert mapping["USSR"]["iso3"] == "SUN"
    assert mapping["CHINA (MAINLAND)"]["iso3"] == "CHN"
    assert mapping["FEDERAL REPUBLIC OF GERMANY"]["iso3"] == "DEU"
    assert mapping["FORMER GERMAN DEMOCRATIC REPUBLIC"]["iso3"] == "DDR"
    assert all(len(m["iso3"]) == 3 and m["iso3"].isupper() for m in mapping.values())


def test_import_keeps_raw_names_and_converts(countries_loaded):
    db = countries_loaded
    row = db.session.scalar(select(CountryEmission).where(
        CountryEmission.raw_name == "CHINA (MAINLAND)", CountryEmission.year == 2020))
    assert row.iso3 == "CHN" and row.total_kt_c == Decimal(2915650)
    assert row.total_mt_co2.quantize(Decimal("0.1")) == Decimal("10690.7")
    ussr = db.session.scalar(select(CountryEmission).where(
        CountryEmission.raw_name == "USSR", CountryEmission.year == 1990))
    assert ussr.iso3 == "SUN"
    with CDIAC.open(encoding="utf-8") as fh:
        n = sum(1 for _ in csv.DictReader(fh))
    assert db.session.scalar(select(func.count()).select_from(CountryEmission)) == n


def test_reimport_is_idempotent(countries_loaded):
    before = countries_loaded.session.scalar(select(func.count()).select_from(CountryEmission))
    report = countries.import_countries(CDIAC)
    assert report["ok"] and report["inserted"] == 0 and report["updated"] == before


def test_bad_rows_are_reported_and_nothing_written(reference, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Year,Country,Total,Solid Fuel\n2020,NARNIA,5,1\n20x0,CHINA (MAINLAND),1,1\n"
                   "2019,USSR,abc,\n2018,USSR,4,\n", encoding="utf-8")
    report = countries.import_countries(bad)
    assert not report["ok"]
    fields = {(e["row"], e["field"]) for e in report["errors"]}
    assert {(2, "Country"), (3, "Year"), (4, "Total")} <= fields
    assert reference.session.scalar(select(func.count()).select_from(CountryEmission)) == 0


def test_compare_share_and_cagr(countries_loaded):
    out = countries.compare(codes=["CHN", "USA"], first=2010, last=2020)
    series, share, trend = out["datasets"]
    last = series.rows[-1]
    assert last[0] == "2020" and last[1] == Decimal("10690.7")
    world = countries_loaded.session.scalar(select(func.sum(CountryEmission.total_mt_co2))
                                            .where(CountryEmission.year == 2020))
    assert last[3] == world.quantize(Decimal("0.1"))
    expected = (Decimal("10690.716667") * 100 / world).quantize(Decimal("0.01"))
    assert share.rows[-1][1] == expected
    assert Decimal(25) < share.rows[-1][1] < Decimal(35)  # China ~ 30 % of the world in 2020
    chn = trend.rows[0]
    v0, v1 = chn[3], chn[4]
    expected = ((float(v1) / float(v0)) ** (1 / 10) - 1) * 100
    assert abs(float(chn[5]) - expected) < 0.05


def test_world_total_is_sum_of_all_entities(countries_loaded):
    db = countries_loaded
    total = db.session.scalar(select(func.sum(CountryEmission.total_kt_c)).where(
        CountryEmission.year == 1991))
    out = countries.compare(codes=["USA"], first=1991, last=1991)
    assert out["datasets"][0].rows[0][2] == (total * 44 / 12 / 1000).quantize(Decimal("0.1"))


def test_api_is_public_and_matches(client, countries_loaded):
    r = client.get("/api/v1/countries/emissions?countries=CHN,USA&from=1990&to=2020")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["unit"] == "Mt CO2" and body["from"] == 1990 and body["to"] == 2020
    chn = {p["year"]: p for p in body["series"]["CHN"]}
    assert chn[2020]["mt_co2"] == 10690.7
    assert 0 < chn[2020]["share_pct"] < 100
    assert [c["iso3"] for c in body["countries"]] == ["CHN", "USA"]


def test_public_page_and_export(client, countries_loaded):
    r = client.get("/countries?countries=CHN,USA,IND&from=2000&to=2020")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "中国（大陆）" in html and "数据截至" in html
    assert re.search(r"echarts\.min\.[0-9a-f]{12}\.js", html)  # content-hashed name
    r = client.get("/monitoring/export/countries/emissions.csv?countries=CHN&from=2019&to=2020")
    assert r.status_code == 200
    lines = r.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("年份,中国（大陆）（百万吨 CO2）")
    assert lines[-1].split(",")[1] == "10690.7"


def test_cli_import_commits(app, reference, tmp_path):
    """`cecp import countries FILE` writes everything or nothing, with a per-row report."""
    from app.cli import import_cmd
    from app.extensions import db

    small = tmp_path / "small.csv"
    small.write_text("Year,Country,Total\n2020,CHINA (MAINLAND),2915650\n2020,USSR,1\n",
                     encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(import_cmd, ["countries", str(small)])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(CountryEmission)) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("Year,Country,Total\n2021,CHINA (MAINLAND),1\n2021,ATLANTIS,1\n",
                   encoding="utf-8")
    result = runner.invoke(import_cmd, ["countries", str(bad)])
    assert result.exit_code == 1 and "第 3 行" in result.output
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(CountryEmission)) == 2
