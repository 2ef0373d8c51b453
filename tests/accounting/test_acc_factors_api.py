"""Calculate API (documented in OpenAPI), factor versions and the recompute job, import."""

from decimal import Decimal as D

from sqlalchemy import func, select

from app.accounting.models import CarbonAccount, CarbonAccountLine, CarbonCode
from app.energy.models import EmissionFactor, EnergyRecord
from tests.accounting.helpers import elec, record


def test_calculate_with_explicit_and_library_factors(client, energy_ref, make_user, auth):
    user = make_user("enterprise")
    body = {"year": 2022, "region": "330100", "value_added": "100", "lines": [
        {"item": "electricity", "flow": "purchased", "amount": "1000", "unit": "MWh",
         "factor": {"value": "0.5703"}},
        {"item": "diesel", "flow": "consumed", "amount": "10", "unit": "t"},
        {"item": "raw_coal", "flow": "consumed", "amount": "100", "unit": "t",
         "factor": {"ncv": "20.908", "carbon_content": "0.02637", "oxidation_rate": "0.94"}},
        {"item": "heat", "flow": "purchased", "amount": "500", "unit": "GJ"},
        {"item": "process_caco3", "flow": "process", "amount": "1000", "unit": "t"},
    ]}
    r = client.post("/api/v1/accounting/calculate", json=body, headers=auth(user))
    out = r.get_json()
    assert r.status_code == 200, out
    assert out["by_source"]["electricity"] == "570.300000"
    assert out["by_source"]["combustion"] == str(D("30.959096") + D("190.029885"))
    assert out["by_source"]["heat"] == "55.000000"
    assert out["by_source"]["process"] == "439.710000"
    assert D(out["co2_total"]) == D("570.3") + D("220.988981") + 55 + D("439.71")
    diesel = out["lines"][1]
    assert diesel["factor_code"] == "combustion:diesel" and diesel["factor_version"] == 1
    assert out["lines"][0]["parameter_origin"] == "given"
    # library electricity factor for the year and province, with its source
    r = client.post("/api/v1/accounting/calculate", headers=auth(user), json={
        "year": 2022, "region": "330100", "lines": [elec(100)]})
    line = r.get_json()["lines"][0]
    zj = EmissionFactor.query.filter_by(code="grid_2022_330000").one()
    assert line["factor_id"] == zj.id and "公告" in line["factor_source"]
    assert D(line["co2"]) == (100 * zj.value).quantize(D("0.000001"))
    r = client.post("/api/v1/accounting/calculate", headers=auth(user), json={
        "lines": [{"item": "diesel", "flow": "consumed", "amount": "-1", "unit": "t"}]})
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"]["lines.0.amount"] == "数量不能为负数"
    r = client.post("/api/v1/accounting/calculate", headers=auth(user), json={
        "lines": [{"item": "diesel", "flow": "consumed", "amount": "1", "unit": "t"}]})
    assert r.status_code == 422 and "year" in r.get_json()["error"]["fields"]


def test_calculate_is_documented_in_openapi(client, energy_ref):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/accounting/calculate"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    ref = schema["$ref"].split("/")[-1]
    props = spec["components"]["schemas"][ref]["properties"]
    assert {"year", "region", "lines", "value_added"} <= set(props)
    assert "/api/v1/enterprises/{uscc}/carbon-account" in spec["paths"]
    assert "/api/v1/energy-records" in spec["paths"]


def test_supersede_factor_recomputes_and_keeps_history(client, make_ent, make_user, auth, db):
    ents = [make_ent(70 + i, region="330100") for i in range(5)]
    writer = make_user("admin")
    headers = auth(writer)
    items = [record(e, 2022, 3, [elec(1000 + i)]) for i, e in enumerate(ents)]
    assert client.post("/api/v1/energy-records", json={"records": items},
                       headers=headers).status_code == 201
    old = db.session.scalar(select(EmissionFactor).where(
        EmissionFactor.code == "grid_2022_330000", EmissionFactor.status == "active"))
    before = db.session.scalar(select(CarbonAccount).where(
        CarbonAccount.enterprise_id == ents[0].id))
    old_total = before.co2_total
    assert old_total == (1000 * old.value).quantize(D("0.000001"))
    r = client.post("/api/v1/factors/grid_2022_330000/versions", headers=headers,
                    json={"value": "0.6000", "source": "测试更正文号", "reason": "测试修订"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["version"] == 2
    # the job ran after commit: a new current version, the old one kept as history
    db.session.expire_all()
    versions = db.session.scalars(select(CarbonAccount).where(
        CarbonAccount.enterprise_id == ents[0].id).order_by(CarbonAccount.version)).all()
    assert [(v.version, v.is_current) for v in versions] == [(1, False), (2, True)]
    assert versions[0].co2_total == old_total
    assert versions[1].co2_total == D("600.000000")
    old_line = db.session.scalar(select(CarbonAccountLine).where(
        CarbonAccountLine.account_id == versions[0].id))
    assert old_line.factor_id == old.id and old_line.factor_version == 1
    assert db.session.get(EmissionFactor, old.id).status == "superseded"
    codes = db.session.scalars(select(CarbonCode).where(
        CarbonCode.enterprise_id == ents[0].id, CarbonCode.period_key == "2022-03",
        CarbonCode.scheme_id == "zj_carbon_intensity_tiers")).all()
    assert sorted(c.is_current for c in codes) == [False, True]
    hist = client.get("/api/v1/factors/grid_2022_330000/versions", headers=headers).get_json()
    assert [h["status"] for h in hist] == ["active", "superseded"]
    # a bad supersede: field-level message, nothing changed
    r = client.post("/api/v1/factors/grid_2022_330000/versions", headers=headers,
                    json={"value": "-1", "source": "x", "reason": "y"})
    assert r.status_code == 422 and "value" in r.get_json()["error"]["fields"]
    user = make_user("enterprise", enterprise=ents[0].uscc)
    r = client.post("/api/v1/factors/grid_2022_330000/versions", headers=auth(user),
                    json={"value": "1", "source": "x", "reason": "y"})
    assert r.status_code == 403


def test_import_command_all_or_nothing(app, make_ent, db, tmp_path):
    ent = make_ent(80)
    header = "uscc,year,month,gross_output,value_added,item,flow,amount,unit\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + f"{ent.uscc},2026,1,300,100,electricity,purchased,100,MWh\n"
                   f"{ent.uscc},2026,1,,,natural_gas,consumed,-3,10^4 Nm3\n"
                   f"{ent.uscc},2026,2,300,100,diesel,consumed,1,MWh\n", encoding="utf-8")
    from app.cli import cli

    runner = app.test_cli_runner()
    res = runner.invoke(cli, args=["import", "energy", str(bad)])
    assert res.exit_code == 1
    assert "第 3 行 amount: 数量不能为负数" in res.output
    assert "第 4 行 unit" in res.output
    assert db.session.scalar(select(func.count()).select_from(EnergyRecord)) == 0
    good = tmp_path / "good.xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "年份", "月份", "工业总产值", "工业增加值", "品种", "流向",
               "数量", "单位"])
    ws.append([ent.uscc, 2026, 1, 300, 100, "electricity", "purchased", 100, "MWh"])
    ws.append([ent.uscc, 2026, 1, None, None, "natural_gas", "consumed", 3, "10^4 Nm3"])
    ws.append([ent.uscc, 2026, 2, 300, 100, "diesel", "consumed", 1, "t"])
    wb.save(good)
    res = runner.invoke(cli, args=["import", "energy", str(good)])
    assert res.exit_code == 0, res.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(EnergyRecord)) == 2
    assert db.session.scalar(select(func.count()).select_from(CarbonAccount)) == 2
