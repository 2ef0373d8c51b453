"""Estimating from electricity: marked, with factor and interval, kept apart from GB/T 32150
accounting, included in a region's figures only when the region says so."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import enrol_totp, login


def test_estimates_marked_and_included_only_by_setting(db, make_ent, history):
    from app.factors import estimates, library
    from app.factors.models import ElectricityEstimate
    from app.identity.scope import DataScope

    ent = make_ent(61)
    history(ent, elec_only=(17,))          # 2024-06: electricity only
    newcomer = make_ent(62)                # no factor of its own: no estimate without peers
    history(newcomer, months=14, elec_only=(3, 12, 13))
    library.compute()
    s = estimates.estimate(region="330500", year=2024)
    assert s["estimated"] == 1 and s["without_factor"] == [newcomer.id]
    assert estimates.estimate(region="330500", year=2024)["estimated"] == 1  # idempotent
    row = db.session.query(ElectricityEstimate).one()
    f = library.current(enterprise_id=ent.id)
    assert row.period == 202406 and row.factor_id == f.id and row.factor_origin == "computed"
    expect = f.intercept + f.slope * row.electricity_mwh
    assert row.co2 == expect.quantize(Decimal("0.000001"))
    assert row.co2_low <= row.co2 <= row.co2_high

    all_scope = DataScope(all=True)
    fig = estimates.region_figures(region_code="330500", year=2024, scope=all_scope)
    assert fig["include_estimates"] is False and fig["total_t"] == fig["accounted_t"]
    assert "未计入" in fig["total_label"] and fig["estimated_months"] == 1
    estimates.set_setting(region_code="330000", include=True)
    fig = estimates.region_figures(region_code="330500", year=2024, scope=all_scope)
    assert fig["setting_from"] == "330000" and fig["include_estimates"] is True
    assert fig["total_t"] == pytest.approx(
        fig["accounted_t"] - fig["accounted_of_estimated_months_t"] + float(row.co2))
    assert "估算（电碳因子）" in fig["total_label"] and "1 家企业" in fig["total_label"]
    # the estimate is far above the grid-only account of that month
    assert float(row.co2) > 1.5 * fig["accounted_of_estimated_months_t"]


def test_estimates_page_scoped(client, db, make_ent, history, make_user):
    from app.factors import estimates, library

    ent = make_ent(71)
    history(ent, elec_only=(20,))
    library.compute()
    estimates.estimate(year=2024)
    db.session.commit()
    reviewer = make_user("reviewer", region="330500")
    enrol_totp(reviewer)
    login(client, reviewer)
    html = client.get("/factors/estimates?region=330500&year=2024").get_data(as_text=True)
    assert "估算（电碳因子）" in html and ent.name in html and "仅 GB/T 32150 核算" in html
    r = client.post("/factors/estimates/setting",
                    data={"region": "330500", "year": "2024", "include": "1"},
                    follow_redirects=True)
    assert "含估算（电碳因子）：1 家企业" in r.get_data(as_text=True)
    assert client.get("/factors/estimates?region=330100&year=2024").status_code == 404
    client.post("/auth/logout")
    owner = make_user("enterprise", enterprise=ent.uscc)
    login(client, owner)
    assert client.get("/factors/estimates?region=330500&year=2024").status_code == 403


def test_estimates_api(client, db, make_ent, history, make_user, auth):
    from app.factors import estimates, library

    ent = make_ent(72)
    history(ent, elec_only=(20,))
    library.compute()
    estimates.estimate(year=2024)
    db.session.commit()
    h = auth(make_user("reviewer", region="330500"))
    r = client.get("/api/v1/factors/estimates?region=330500&year=2024", headers=h)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["estimated_months"] == 1 and body["rows"][0]["label"] == "估算（电碳因子）"
    assert body["total_t"] == body["accounted_t"] and body["include_estimates"] is False
    assert client.get("/api/v1/factors/estimates?region=330100&year=2024",
                      headers=h).status_code == 404
    assert client.get("/api/v1/factors/estimates?region=330500&year=x",
                      headers=h).get_json()["error"]["fields"] == {"year": "取值无效"}
    owner = auth(make_user("enterprise", enterprise=ent.uscc))
    assert client.get("/api/v1/factors/estimates?region=330500&year=2024",
                      headers=owner).status_code == 403
