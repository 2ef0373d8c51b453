"""Monthly energy entry of a public institution: the enterprises' line validation (Chinese
messages naming the field, 4xx, nothing half-written, refusals audited), and the ISO 14064-1
inventory: scope 1 / scope 2 figures computed by hand from the factor library."""

from __future__ import annotations

import io
from decimal import Decimal

from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.monitoring.models import InstitutionEnergy
from tests.institutions.conftest import month


def _rows(db, inst) -> int:
    return db.session.scalar(select(func.count()).select_from(InstitutionEnergy).where(
        InstitutionEnergy.institution_id == inst.id))


def test_scope_1_and_2_hand_computed_with_sources(client, world):
    """March 2025, 湖州 (浙江): the 2023 provincial grid factor 0.4974 tCO2/MWh is the latest
    published; natural gas 389.31 GJ/10^4 Nm3 × 0.0153 tC/GJ × 0.99; gasoline 43.070 GJ/t ×
    0.0189 × 0.98 (GB/T 32151 表C.1); heat 0.11 tCO2/GJ."""
    h = world["h"]["member_a"]
    body = month(2025, 3, electricity=100, natural_gas=1, gasoline=2, heat=50)
    body["lines"][0]["amount"], body["lines"][0]["unit"] = "100000", "kWh"  # unit converted
    r = client.post("/api/v1/institutions/PI-T-A/energy", json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    inv = client.get("/api/v1/institutions/PI-T-A/inventory?year=2025", headers=h).get_json()
    # scope 1: gas 1 × 389.31 × 0.0153 × 0.99 × 44/12 = 21.621888 (6 places, half-up)
    #          gasoline 2 × 43.070 × 0.0189 × 0.98 × 44/12 = 5.850112
    # scope 2: electricity 100 × 0.4974 = 49.74; heat 50 × 0.11 = 5.5
    assert Decimal(inv["scope1"]) == Decimal("27.472000")
    assert Decimal(inv["scope2"]) == Decimal("55.240000")
    assert Decimal(inv["total"]) == Decimal("82.712000")
    # tce: 100 × 0.1229 + 1 × 12.143 + 2 × 1.4714 + 50 × 0.03412
    assert Decimal(inv["tce"]) == Decimal("29.081800")
    lines = {ln["item"]: ln for ln in inv["months"][0]["lines"]}
    assert lines["electricity"]["scope"] == 2 and lines["natural_gas"]["scope"] == 1
    assert lines["gasoline"]["scope"] == 1 and lines["heat"]["scope"] == 2
    assert "0.4974" in lines["electricity"]["formula"]
    assert "公告" in lines["electricity"]["factor"]["source"]
    assert lines["electricity"]["factor"]["year"] == 2023
    assert "2023" in lines["electricity"]["factor_note"]
    assert "表C.1" in lines["natural_gas"]["factor"]["source"]
    assert "44/12" in lines["natural_gas"]["formula"]
    assert "tce" in lines["heat"]["tce_formula"]


def test_bad_entries_name_the_field_in_chinese_and_write_nothing(client, world):
    db, h = world["db"], world["h"]["member_a"]
    good = month(2025, 1, electricity=10)
    bad = {"year": 2025, "month": 13, "lines": [
        {"item": "electricity", "flow": "consumed", "amount": "-5", "unit": "MWh"},
        {"item": "unobtainium", "flow": "consumed", "amount": "1", "unit": "t"},
        {"item": "natural_gas", "flow": "consumed", "amount": "abc", "unit": "吨"},
        {"item": "clinker", "flow": "process", "amount": "1", "unit": "t"}]}
    r = client.post("/api/v1/institutions/PI-T-A/energy", json={"months": [good, bad]},
                    headers=h)
    assert r.status_code == 422
    fields = r.get_json()["error"]["fields"]
    assert "月份" in fields["months.1.month"]
    assert "不能为负数" in fields["months.1.lines.0.amount"]
    assert "流向" in fields["months.1.lines.0.flow"] or "不能填报为" in fields[
        "months.1.lines.0.flow"]
    assert "未知的能源品种" in fields["months.1.lines.1.item"]
    assert "数字" in fields["months.1.lines.2.amount"]
    assert "单位" in fields["months.1.lines.2.unit"]
    assert "公共机构" in fields["months.1.lines.3.flow"]
    assert _rows(db, world["a"]) == 0  # the good month was not written either
    assert db.session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "institution.energy.refused")) == 1
    # future month, empty lines, not JSON, duplicate months
    r = client.post("/api/v1/institutions/PI-T-A/energy", json=month(2099, 1, electricity=1),
                    headers=h)
    assert r.status_code == 422 and "未来月份" in r.get_json()["error"]["fields"]["month"]
    r = client.post("/api/v1/institutions/PI-T-A/energy", json={"year": 2025, "month": 1},
                    headers=h)
    assert r.get_json()["error"]["fields"]["lines"] == "请至少填写一行能源数据"
    r = client.post("/api/v1/institutions/PI-T-A/energy", data="x", headers=h,
                    content_type="application/json")
    assert r.status_code == 400
    r = client.post("/api/v1/institutions/PI-T-A/energy",
                    json={"months": [good, good]}, headers=h)
    assert "重复" in r.get_json()["error"]["fields"]["months.1.month"]
    assert _rows(db, world["a"]) == 0


def test_a_month_is_replaced_and_the_save_is_audited(client, world):
    db, h = world["db"], world["h"]["member_a"]
    for amount in (10, 20):
        r = client.post("/api/v1/institutions/PI-T-A/energy",
                        json=month(2025, 2, electricity=amount), headers=h)
        assert r.status_code == 201
    rows = db.session.scalars(select(InstitutionEnergy).where(
        InstitutionEnergy.institution_id == world["a"].id)).all()
    assert [(r.amount, r.source) for r in rows] == [(Decimal("20.000000"), "api")]
    assert db.session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "institution.energy.save")) == 2


def test_form_page_shows_field_errors_and_saves(client, world):
    from tests.conftest import login

    login(client, world["member_a"])
    page = client.get("/institutions/PI-T-A/energy")
    assert page.status_code == 200 and "月度能耗填报" in page.get_data(as_text=True)
    r = client.post("/institutions/PI-T-A/energy", data={
        "year": "2025", "month": "0", "rows": "2", "line-0-item": "electricity",
        "line-0-flow": "purchased", "line-0-amount": "-1", "line-0-unit": "MWh"})
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "数据未保存" in text and 'data-field="line-0-amount"' in text
    assert 'data-field="month"' in text
    assert _rows(world["db"], world["a"]) == 0
    r = client.post("/institutions/PI-T-A/energy", data={
        "year": "2025", "month": "4", "rows": "2", "line-0-item": "electricity",
        "line-0-flow": "purchased", "line-0-amount": "1.5", "line-0-unit": "MWh",
        "line-1-item": "diesel", "line-1-flow": "consumed", "line-1-amount": "0.2",
        "line-1-unit": "t"})
    assert r.status_code == 302
    assert _rows(world["db"], world["a"]) == 2


def test_spreadsheet_import_all_or_nothing(client, world):
    from tests.conftest import login

    login(client, world["member_a"])
    good = ("年份,月份,品种,流向,数量,单位\n2025,5,electricity,purchased,12,MWh\n"
            "2025,5,natural_gas,consumed,3000,m3\n2025,6,electricity,purchased,11,MWh\n")
    bad = good + "2025,7,electricity,purchased,-1,MWh\n"
    r = client.post("/institutions/PI-T-A/import", data={
        "file": (io.BytesIO(bad.encode()), "bad.csv")}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert "第 5 行 amount" in r.get_data(as_text=True)
    assert _rows(world["db"], world["a"]) == 0
    r = client.post("/institutions/PI-T-A/import", data={
        "file": (io.BytesIO(b"\x00\x01"), "x.exe")}, content_type="multipart/form-data")
    assert r.status_code == 422 and "CSV" in r.get_data(as_text=True)
    r = client.post("/institutions/PI-T-A/import", data={
        "file": (io.BytesIO(good.encode()), "good.csv")}, content_type="multipart/form-data")
    assert r.status_code == 302
    rows = world["db"].session.scalars(select(InstitutionEnergy).where(
        InstitutionEnergy.institution_id == world["a"].id)).all()
    assert len(rows) == 3 and {r.source for r in rows} == {"import"}
    gas = next(r for r in rows if r.item == "natural_gas")
    assert gas.amount == Decimal("0.300000")  # 3000 m3 = 0.3 × 10^4 Nm3


def test_any_json_shape_is_a_4xx(client, world):
    h = world["h"]["member_a"]
    odd = [{"months": "x"}, {"months": [1, None]}, {"year": [], "month": {}, "lines": {}},
           {"year": 2025, "month": 1, "lines": [5, {"item": 7, "flow": [], "amount": {},
                                                    "unit": 1.5, "note": {"a": 1}}]},
           {"year": 10 ** 30, "month": -1, "lines": [{"item": "electricity"}]}]
    for body in odd:
        r = client.post("/api/v1/institutions/PI-T-A/energy", json=body, headers=h)
        assert r.status_code in (400, 422), (body, r.status_code)
    for body in ({"reduction_pct": {"x": 1}, "base_year": [], "target_year": None},
                 {"metric": 5, "base_year": "2020x", "target_year": 2030,
                  "reduction_pct": "NaN"}):
        r = client.put("/api/v1/institutions/PI-T-A/target", json=body, headers=h)
        assert r.status_code == 422, (body, r.status_code)
    for year in ("abc", None, [2025], 10 ** 20):
        r = client.post("/api/v1/institutions/PI-T-A/disclosures", json={"year": year},
                        headers=h)
        assert r.status_code in (400, 422), (year, r.status_code)
    r = client.get("/api/v1/institutions/PI-T-A/inventory?year=x", headers=h)
    assert r.status_code == 400
