"""The simulate API (any signed-in user, 4xx naming the field), the demo year with its
comparison to official factors, imports with row-level errors, and the regional pages."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.factors.test_factors_flow import HAND


def test_simulate_api_any_signed_in_user(client, make_user, auth):
    user = make_user("enterprise", enterprise="91330522MA3000001J")
    assert client.post("/api/v1/factors/regional/simulate", json=HAND).status_code == 401
    r = client.post("/api/v1/factors/regional/simulate", json=HAND, headers=auth(user))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    node = {n["id"]: n for n in body["nodes"]}
    assert node["C"]["intensity"] == pytest.approx(0.4)
    assert node["C"]["by_source"]["coal"] == pytest.approx(0.24)
    assert set(node["A"]) >= {"id", "intensity", "by_source", "consumption_mwh", "emissions_t"}
    assert body["balance"]["consumed_emissions_t"] == pytest.approx(98)
    assert "周天睿" in body["method"]


@pytest.mark.parametrize(("body", "field"), [
    ({"nodes": [{"id": "A"}, {"id": "B"}], "flows": [{"from": "A", "to": "B", "mwh": -1}]},
     "flows[0].mwh"),
    ({"nodes": "x"}, "nodes"),
    ({"nodes": [{"id": "A", "consumption_mwh": 5}]}, "nodes[0].consumption_mwh"),
    ({"intensity_unit": "lb/MWh", "nodes": [{"id": "A"}]}, "intensity_unit"),
])
def test_simulate_api_bad_input_names_the_field(client, make_user, auth, body, field):
    user = make_user("reviewer", region="330500")
    r = client.post("/api/v1/factors/regional/simulate", json=body, headers=auth(user))
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert field in err["fields"], err
    assert field in err["message"]


def test_demo_year_is_labelled_and_compared_with_official(db, reference):
    from app.factors import regional

    net = regional.load_demo()
    assert regional.load_demo().id == net.id  # idempotent
    assert net.is_demo and "非官方" in net.source
    res = net.result
    assert len(res["nodes"]) == 31 and res["balance"]["conserved"]
    cmp = regional.compare_official(net)
    assert cmp["n"] == 30  # 西藏 has no official provincial factor: left empty, not invented
    assert next(r for r in cmp["rows"] if r["id"] == "540000")["official"] is None
    zj = next(r for r in cmp["rows"] if r["id"] == "330000")
    assert zj["official"] == pytest.approx(0.5422)  # MEE/NBS 2021 provincial factor
    assert zj["error"] == pytest.approx(zj["simulated"] - 0.5422)
    # 四川 (hydro) is far below 内蒙古 (coal) on both sides
    by = {r["id"]: r for r in cmp["rows"]}
    assert by["510000"]["simulated"] < 0.3 < by["150000"]["simulated"]


def test_import_errors_name_file_rows(db, reference, tmp_path):
    from app.factors import regional
    from app.factors.flow import NetworkError

    gen = tmp_path / "g.csv"
    ex = tmp_path / "e.csv"
    gen.write_text("node,name,source,energy,energy_unit,intensity,intensity_unit\n"
                   "A,甲,coal,100,MWh,0.9,tCO2/MWh\nB,乙,gas,10,MWh,-0.4,tCO2/MWh\n")
    ex.write_text("from,to,energy,energy_unit\nA,B,5,MWh\nA,B,-3,MWh\n")
    payload, names = regional.read_files(generation=gen, exchange=ex)
    with pytest.raises(NetworkError) as exc:
        regional.create(code="t", title="t", year=2021, payload=payload, names=names)
    assert "generation 第3行.intensity" in exc.value.fields
    assert "exchange 第3行.mwh" in exc.value.fields
    gen.write_text("node,source,energy,intensity,intensity_unit\nA,coal,1,0.9,tCO2/MWh\n"
                   "B,gas,1,400,gCO2/kWh\n")
    with pytest.raises(NetworkError) as exc:
        regional.read_files(generation=gen)
    assert "单位不一致" in exc.value.fields["generation 第3行.intensity_unit"]


def test_import_xlsx(db, reference, tmp_path):
    from openpyxl import Workbook

    from app.factors import regional

    wb = Workbook()
    ws = wb.active
    ws.title = "generation"
    ws.append(["node", "name", "source", "energy", "energy_unit", "intensity"])
    ws.append(["A", "甲", "coal", 100, "MWh", 0.9])
    ws.append(["B", "乙", "non_fossil", 50, "MWh", 0])
    ws.append(["C", "丙", "gas", 20, "MWh", 0.4])
    ws2 = wb.create_sheet("exchange")
    ws2.append(["from", "to", "energy", "energy_unit"])
    ws2.append(["A", "B", 0.04, "GWh"])
    ws2.append(["B", "C", 30, "MWh"])
    path = tmp_path / "net.xlsx"
    wb.save(path)
    payload, names = regional.read_files(generation=path)
    net = regional.create(code="x", title="x", year=2021, payload=payload, names=names)
    c = next(n for n in net.result["nodes"] if n["id"] == "C")
    assert c["intensity"] == pytest.approx(0.4) and c["name"] == "丙"


def test_regional_pages(client, make_user):
    from app.extensions import db
    from app.factors import regional

    net = regional.load_demo()
    db.session.commit()
    user = make_user("enterprise", enterprise="91330522MA3000001J")
    login(client, user)
    page = client.get("/factors/regional").get_data(as_text=True)
    assert "示例数据（非官方）" in page
    page = client.get(f"/factors/regional/{net.id}").get_data(as_text=True)
    assert 'id="flow-map"' in page and "示例数据（仅作演示，非官方统计）" in page
    assert "浙江" in page and "0.5422" in page
    r = client.post("/factors/regional/simulate",
                    data={"network": '{"nodes": [{"id": "A", "consumption_mwh": 3}]}'})
    assert r.status_code == 422 and "nodes[0].consumption_mwh" in r.get_data(as_text=True)
    import json

    r = client.post("/factors/regional/simulate", data={"network": json.dumps(HAND)})
    assert r.status_code == 200 and "0.2400" in r.get_data(as_text=True)


def test_network_page_shows_accounted_beside_simulated(client, make_ent, history, make_user):
    from app.extensions import db
    from app.factors import regional
    from app.identity.scope import DataScope

    mine, other = make_ent(91), make_ent(92, region="320100")
    history(mine, months=12, start_year=2021)
    history(other, months=12, start_year=2021, seed=4)
    net = regional.load_demo()
    db.session.commit()
    beside = regional.accounted_beside(net, DataScope(all=True))
    zj = beside["330000"]
    zj_sim = next(n for n in net.result["nodes"] if n["id"] == "330000")["intensity"]
    assert zj["simulated_t"] == pytest.approx(zj["mwh"] * zj_sim)
    assert zj["accounted_t"] > 0 and "320000" in beside
    owner = make_user("enterprise", enterprise=mine.uscc)
    login(client, owner)
    html = client.get(f"/factors/regional/{net.id}").get_data(as_text=True)
    assert 'id="accounted"' in html and "浙江省" in html.split('id="accounted"')[1]
    assert "江苏省" not in html.split('id="accounted"')[1]  # another tenant's enterprise


def test_managers_import_networks_from_the_page(client, make_user):
    from io import BytesIO

    from tests.conftest import enrol_totp

    gen = ("node,name,source,energy,energy_unit,intensity,intensity_unit\n"
           "A,甲,coal,100,MWh,0.9,tCO2/MWh\nB,乙,gas,20,MWh,0.4,tCO2/MWh\n").encode()
    bad = b"from,to,energy,energy_unit\nA,B,10,MWh\nA,B,-1,MWh\n"
    good = b"from,to,energy,energy_unit\nA,B,10,MWh\n"

    def form(ex):
        return {"code": "zj-test", "title": "浙江测试", "year": "2021",
                "generation": (BytesIO(gen), "g.csv"), "exchange": (BytesIO(ex), "e.csv")}

    owner = make_user("enterprise", enterprise="91330522MA3000001J")
    login(client, owner)
    assert client.post("/factors/regional", data=form(good),
                       content_type="multipart/form-data").status_code == 403
    client.post("/auth/logout")
    approver = make_user("approver", region="330000")
    enrol_totp(approver)
    login(client, approver)
    r = client.post("/factors/regional", data=form(bad), content_type="multipart/form-data")
    assert r.status_code == 422 and "exchange 第3行.mwh" in r.get_data(as_text=True)
    r = client.post("/factors/regional", data=form(good), content_type="multipart/form-data",
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "已导入并模拟 浙江测试 v1" in html and "浙江测试" in html


def test_openapi_documents_the_factor_endpoints(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/factors/regional/simulate",
                 "/api/v1/enterprises/{uscc}/electricity-factor",
                 "/api/v1/factors/estimates", "/api/v1/factors/checks/{check_id}"):
        assert path in doc["paths"], sorted(doc["paths"])
