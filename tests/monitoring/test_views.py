"""Region / industry / enterprise views and APIs: scoped figures, filters, exports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.conftest import enrol_totp, login


@pytest.fixture()
def reviewer(monitored, make_user, client):
    user = make_user("reviewer", region="330500")
    enrol_totp(user)
    login(client, user)
    return user


def _acc_sum(db, prefix: str, period: int | None = None, year: int | None = None):
    from app.accounting.models import CarbonAccount as A

    stmt = select(func.sum(A.co2_total)).where(A.is_current.is_(True),
                                                A.region_code.like(prefix + "%"))
    if period:
        stmt = stmt.where(A.period == period)
    if year:
        stmt = stmt.where(A.year == year)
    return db.session.scalar(stmt)


def test_region_api_is_scoped_to_the_reviewers_city(client, reviewer, monitored):
    r = client.get("/api/v1/monitoring/region")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    f = body["filters"]
    assert f["region"] == "330500" and f["grain"] == "month"
    period = f["year"] * 100 + f["month"]
    expected = _acc_sum(monitored, "3305", period=period) / Decimal(10000)
    assert Decimal(str(body["summary"]["co2"])) == expected.quantize(Decimal("0.0001"))
    ranking = next(d for d in body["datasets"] if d["id"] == "ranking")
    assert ranking["rows"] and all(row[0].startswith("3305") for row in ranking["rows"])
    series = next(d for d in body["datasets"] if d["id"] == "series")
    assert [c["key"] for c in series["columns"]] == ["period", "value", "last_year", "yoy", "mom"]
    assert series["chart"]["y_name"] == "CO2 排放量（万吨 CO2）"
    assert body["freshness"]["label"].startswith("数据截至")


def test_region_outside_scope_is_refused(client, reviewer):
    r = client.get("/api/v1/monitoring/region?region=330100")
    assert r.status_code == 422
    assert "region" in r.get_json()["error"]["fields"]


def test_year_grain_and_energy_filter_change_figures(client, reviewer, monitored):
    a = client.get("/api/v1/monitoring/region?grain=year").get_json()
    b = client.get("/api/v1/monitoring/region?grain=year&energy=electricity&measure=amount")
    b = b.get_json()
    assert a["summary"]["value"] != b["summary"]["value"]
    assert b["summary"]["unit"] == "MWh"
    y = a["filters"]["year"]
    assert Decimal(str(a["summary"]["co2"])) == (_acc_sum(monitored, "3305", year=y)
                                                 / Decimal(10000)).quantize(Decimal("0.0001"))


def test_enterprise_user_sees_only_own_enterprise(client, monitored, make_user):
    from app.accounting.models import CarbonAccount
    from app.demo import demo_enterprise_uscc
    from app.orgs.models import Enterprise

    uscc = demo_enterprise_uscc()
    user = make_user("enterprise", enterprise=uscc)
    login(client, user)
    body = client.get("/api/v1/monitoring/enterprise").get_json()
    rows = body["datasets"][0]["rows"]
    assert [r[0] for r in rows] == [uscc]
    ent = monitored.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
    period = body["filters"]["year"] * 100 + body["filters"]["month"]
    co2 = monitored.session.scalar(select(CarbonAccount.co2_total).where(
        CarbonAccount.enterprise_id == ent.id, CarbonAccount.period == period,
        CarbonAccount.is_current.is_(True)))
    assert Decimal(str(rows[0][5])) == co2.quantize(Decimal("0.001"))
    region = client.get("/api/v1/monitoring/region").get_json()
    assert Decimal(str(region["summary"]["co2"])) == (co2 / 10000).quantize(Decimal("0.0001"))


def test_anonymous_gets_401_and_login_redirect(client, monitored):
    assert client.get("/api/v1/monitoring/region").status_code == 401
    r = client.get("/monitoring/region")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_industry_view_has_divisions_intensity_and_grades(client, reviewer):
    body = client.get("/api/v1/monitoring/industry?grain=year").get_json()
    ids = [d["id"] for d in body["datasets"]]
    assert ids == ["series", "intensity", "divisions", "grades", "key_sectors"]
    div = next(d for d in body["datasets"] if d["id"] == "divisions")
    assert any(r[0] == "30" and r[5] and r[5] > 0 for r in div["rows"])
    grades = next(d for d in body["datasets"] if d["id"] == "grades")
    assert [c["label"] for c in grades["columns"][2:7]] == ["一级", "二级", "三级", "四级", "五级"]
    sectored = client.get("/api/v1/monitoring/industry?grain=year&sector=building_materials")
    assert sectored.get_json()["summary"]["co2"] < body["summary"]["co2"]


def test_enterprise_list_search_sort_and_link(client, reviewer):
    body = client.get("/api/v1/monitoring/enterprise?grain=year").get_json()
    rows = body["datasets"][0]["rows"]
    assert rows and all(r[0][2:6] == "3305" or r[2] for r in rows)
    co2 = [r[5] for r in rows]
    assert co2 == sorted(co2, reverse=True)
    assert rows[0][10] == f"/accounts/{rows[0][0]}"
    name = rows[0][1][:4]
    found = client.get(f"/api/v1/monitoring/enterprise?grain=year&q={name}").get_json()
    assert all(name in r[1] for r in found["datasets"][0]["rows"])
    asc = client.get("/api/v1/monitoring/enterprise?grain=year&sort=name&order=asc").get_json()
    names = [r[1] for r in asc["datasets"][0]["rows"]]
    assert names == sorted(names)


@pytest.mark.parametrize("path", ["/monitoring/region", "/monitoring/industry",
                                  "/monitoring/enterprises"])
def test_pages_render_with_filters_in_url(client, reviewer, path):
    r = client.get(path + "?grain=year")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="monitoring-data"' in html and "数据截至" in html
    assert "grain=year" in html  # export links keep the filters


def test_export_matches_api_and_is_audited(client, reviewer, monitored):
    from app.audit.models import AuditRecord

    api = client.get("/api/v1/monitoring/region?grain=year").get_json()
    ranking = next(d for d in api["datasets"] if d["id"] == "ranking")
    r = client.get("/monitoring/export/region/ranking.csv?grain=year")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == [c["heading"] for c in ranking["columns"]]
    assert [[float(v) if i in (2, 3) else v for i, v in enumerate(row[:4])] for row in rows[1:]] \
        == [row[:4] for row in ranking["rows"]]
    x = client.get("/monitoring/export/region/ranking.xlsx?grain=year")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(x.data)).active
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [v[2] for v in values] == [row[2] for row in ranking["rows"]]
    actions = monitored.session.scalars(select(AuditRecord.action)).all()
    assert actions.count("monitoring.export") == 2
