"""Analytics API and pages: scoped to the caller, 4xx naming the field, audited actions;
anomaly flags feed the self-check and a reviewer's list (R-10.3, R-5.3)."""

from sqlalchemy import select

from app.analytics import service
from app.analytics.models import AnomalyFlag
from app.audit.models import AuditRecord
from app.cases import selfcheck
from app.extensions import db


def _users(make_user, ents, other):
    return {"ent": make_user("enterprise", enterprise=ents[0].uscc),
            "reviewer": make_user("reviewer", region="330500"),
            "stranger": make_user("reviewer", region="330100"),
            "other_ent": make_user("enterprise", enterprise=other.uscc)}


def test_forecast_api_scoped_and_validated(province, make_ent, make_user, client, auth):
    ents = province(6)
    other = make_ent(900, region="330102")
    u = _users(make_user, ents, other)
    h = auth(u["ent"])
    r = client.get(f"/api/v1/analytics/forecast?level=enterprise&code={ents[0].uscc}", headers=h)
    body = r.get_json()
    assert r.status_code == 200, body
    assert len(body["values"]) == 12 and body["periods"][0] == 202601
    assert body["backtest"]["model"]["mase"] is not None and body["method"] in (
        "ets", "seasonal_naive")
    # another enterprise's series: 404, never the data
    r = client.get(f"/api/v1/analytics/forecast?level=enterprise&code={ents[1].uscc}", headers=h)
    assert r.status_code == 404
    # industries and regions need monitoring rights
    assert client.get("/api/v1/analytics/forecast?level=region&code=330500",
                      headers=h).status_code == 403
    r = client.get("/api/v1/analytics/forecast?level=region&code=330500&measure=x", headers=h)
    assert r.status_code == 422 and "measure" in r.get_json()["error"]["fields"]
    hr = auth(u["reviewer"])
    r = client.get("/api/v1/analytics/forecast?level=region&code=330500&measure=energy",
                   headers=hr)
    assert r.status_code == 200 and r.get_json()["unit"] == "tce"
    # a reviewer elsewhere sees nothing of this city
    r = client.get("/api/v1/analytics/forecast?level=region&code=330500",
                   headers=auth(u["stranger"]))
    assert r.status_code == 422
    r = client.get("/api/v1/analytics/accuracy", headers=hr)
    [row] = r.get_json()
    assert row["series"] == 6 and row["industry_code"] == "30"
    # the README's table comes from the same figures (`cecp analytics accuracy`)
    from flask import current_app

    out = current_app.test_cli_runner().invoke(args=["analytics", "accuracy"]).output
    line = out.splitlines()[-1]
    assert line.startswith(f"| {row['industry_name']}（30） | 6 | {row['backtested']} | "
                           f"{row['model_used']} | {row['model_mape']:,} / "), out


def test_plan_api_and_scenarios(province, make_ent, make_user, client, auth):
    ents = province(6)
    other = make_ent(900, region="330102")
    u = _users(make_user, ents, other)
    h = auth(u["ent"])
    r = client.get(f"/api/v1/enterprises/{ents[0].uscc}/improvement-plan?year=2025", headers=h)
    body = r.get_json()
    assert r.status_code == 200 and body["graded"] and body["targets"] is not None
    url = f"/api/v1/enterprises/{ents[0].uscc}/improvement-plan/scenarios"
    r = client.post(url, json={"year": 2025, "measures": [{"kind": "efficiency",
                                                             "pct": "150"}]}, headers=h)
    assert r.status_code == 422 and "measures.0.pct" in r.get_json()["error"]["fields"]
    r = client.post(url, json={"year": 2025, "measures": [{"kind": "nope"}]}, headers=h)
    assert r.status_code == 422
    r = client.post(url, json={"year": 2025, "name": "节能 5%",
                               "measures": [{"kind": "efficiency", "pct": "5"}]}, headers=h)
    assert r.status_code == 200, r.get_json()
    assert float(r.get_json()["reduction"]) > 0
    assert db.session.scalar(select(AuditRecord).where(
        AuditRecord.action == "analytics.scenario.create"))
    # the other enterprise can neither read nor plan this one
    ho = auth(u["other_ent"])
    assert client.get(f"/api/v1/enterprises/{ents[0].uscc}/improvement-plan",
                      headers=ho).status_code == 404
    assert client.post(url, json={"year": 2025, "measures": [{"kind": "efficiency",
                                                                "pct": "5"}]},
                       headers=ho).status_code == 404


def test_flags_feed_the_self_check_and_the_reviewer(province, make_ent, make_user, client,
                                                    auth):
    ents = province(8, spike=(2, 202406))
    other = make_ent(900, region="330102")
    u = _users(make_user, ents, other)
    target = ents[2]
    flags = {(f.period, f.kind): f for f in db.session.scalars(select(AnomalyFlag).where(
        AnomalyFlag.enterprise_id == target.id))}
    assert (202406, "residual") in flags and (202406, "fuel_ratio") in flags
    check = selfcheck.run(enterprise=target, year=2024)
    anomalies = [w for w in check["warnings"] if w["code"] == "anomaly"]
    assert {(w["period"], w["kind"]) for w in anomalies} >= {(202406, "residual"),
                                                            (202406, "fuel_ratio")}
    assert selfcheck.still_valid(check)
    # the reviewer of the city sees it; a reviewer elsewhere and another enterprise do not
    r = client.get("/api/v1/analytics/anomalies?status=open", headers=auth(u["reviewer"]))
    assert {(f["enterprise"], f["period"]) for f in r.get_json()} >= {(target.uscc, 202406)}
    r = client.get("/api/v1/analytics/anomalies", headers=auth(u["stranger"]))
    assert r.get_json() == []
    r = client.get("/api/v1/analytics/anomalies", headers=auth(u["other_ent"]))
    assert r.get_json() == []
    flag = flags[(202406, "residual")]
    # an enterprise cannot explain its own flag; a stranger gets 404
    assert client.post(f"/api/v1/analytics/anomalies/{flag.id}/explain", json={"note": "x"},
                       headers=auth(u["ent"])).status_code == 403
    assert client.post(f"/api/v1/analytics/anomalies/{flag.id}/explain", json={"note": "x"},
                       headers=auth(u["stranger"])).status_code == 404
    r = client.post(f"/api/v1/analytics/anomalies/{flag.id}/explain",
                    json={"note": "6 月设备检修后集中补烧"}, headers=auth(u["reviewer"]))
    assert r.status_code == 200 and r.get_json()["status"] == "explained"
    assert db.session.scalar(select(AuditRecord).where(
        AuditRecord.action == "analytics.flag.explain", AuditRecord.object_id == str(flag.id)))
    # the explained flag leaves the self-check; the sealed earlier result is stale now
    assert not selfcheck.still_valid(check)
    again = selfcheck.run(enterprise=target, year=2024)
    kinds = {(w["period"], w["kind"]) for w in again["warnings"] if w["code"] == "anomaly"}
    assert (202406, "residual") not in kinds and (202406, "fuel_ratio") in kinds


def test_potential_and_pages(province, make_user, client):
    from tests.conftest import enrol_totp, login

    ents = province(6)
    reviewer = make_user("reviewer", region="330500")
    groups = service.potential(scope=reviewer_scope(reviewer), year=2025)
    [g] = groups
    assert g["enterprises"] == 6 and g["potential"] > 0
    assert g["leaders"][0]["intensity"] <= g["leaders"][-1]["intensity"]
    enrol_totp(reviewer)
    login(client, reviewer)
    for path in ("/analytics/forecast?level=region&code=330500", "/analytics/potential?year=2025",
                 "/analytics/anomalies", "/analytics/at-risk?year=2025",
                 f"/analytics/plan/{ents[0].uscc}?year=2025"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "Traceback" not in r.get_data(as_text=True)
    page = client.get(f"/accounts/{ents[0].uscc}?year=2025").get_data(as_text=True)
    assert "年末预测" in page and "碳效提升规划" in page


def reviewer_scope(user):
    from app.identity.grants import scope_for

    return scope_for(user)


def test_self_check_and_the_code_use_one_benchmark(province):
    """The self-check's intensity check, the carbon efficiency code and the year-end
    projection all read the benchmark of the enterprise's comparison area and industry
    level (`codes.benchmark_for`), never one of their own."""
    from decimal import Decimal

    from app.accounting import codes

    ents = province(6)
    ent = ents[0]
    assert len(ent.industry_code) > 2  # graded by division: the lookup must cut the code
    check = selfcheck.run(enterprise=ent, year=2025)
    bench = codes.benchmark_for(enterprise=ent, period_key="2025")
    code = codes.current_for(enterprise_id=ent.id, period_key="2025")
    assert bench is not None and check["basis"]["benchmark"] == {"needed": True, "id": bench.id}
    assert (bench.area_code, bench.industry_code) == (code.area_code, code.industry_code)
    assert Decimal(bench.intensity) == Decimal(code.benchmark_intensity)
    assert service._benchmark_for(ent, 2026).id == bench.id  # the projection's: latest year
    assert selfcheck.still_valid(check)
