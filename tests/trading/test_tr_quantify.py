"""Quantification per monitoring period (R-6.3b): a hand-computed PV report from readings
stored through the exchange service, the derivation's origins, refusals (nothing written,
audited) and tenant isolation of the report endpoints."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.trading import quantify
from app.trading.models import MonitoringReport
from tests.trading.test_tr_monitoring import put

FACTORS = {"ef_om": "0.8", "ef_bm": "0.3", "source": "测试用因子（手算核对）"}


def test_pv_report_hand_computed(db, pv):
    a, b, pa, pb = pv
    put(db, [("PVA-generation", "2026-01-05", 700), ("PVA-ongrid", "2026-01-05", 600),
             ("PVA-generation", "2026-02-05", 450), ("PVA-ongrid", "2026-02-05", 400)])
    report = quantify.create_report(project=pa, period_start=date(2026, 1, 1),
                                    period_end=date(2026, 2, 28), factors=FACTORS)
    db.session.commit()
    # EG_net = 600 + 400 = 1,000 MWh; EF_CM = 0.75 × 0.8 + 0.25 × 0.3 = 0.675;
    # BE = 675 tCO2e, PE = LE = 0 → ER = 675
    assert report.reduction == Decimal("675")
    res = report.result
    assert (res["baseline"], res["project"], res["leakage"], res["reduction"]) == (
        "675.000000", "0.000000", "0.000000", "675.000000")
    origin = {ln["name"]: ln.get("origin") for ln in res["lines"] if ln["kind"] == "parameter"}
    assert "PVA-ongrid" in origin["eg_net_mwh"] and "2026-01 至 2026-02" in origin["eg_net_mwh"]
    assert origin["ef_om"].endswith("测试用因子（手算核对）")
    assert "TOOL07" in origin["w_om"]
    assert [m["ongrid"] for m in report.figures["months"]] == ["600.000", "400.000"]
    # recompute after a corrected reading: still a draft, new figure
    put(db, [("PVA-ongrid", "2026-02-05", 600)])
    quantify.recompute(report=report, factors=FACTORS)
    assert report.reduction == Decimal("810")  # 1,200 × 0.675


def test_refusals_name_what_is_missing(db, pv):
    import pytest

    a, b, pa, pb = pv
    put(db, [("PVA-ongrid", "2026-01-05", 600)])
    jan, feb = date(2026, 1, 1), date(2026, 2, 28)
    with pytest.raises(quantify.QuantifyRefused) as exc:  # no factor confirmed for east 2026
        quantify.create_report(project=pa, period_start=jan, period_end=date(2026, 1, 31))
    assert set(exc.value.fields) == {"ef_om"}
    with pytest.raises(quantify.QuantifyRefused) as exc:  # February has no on-grid data
        quantify.create_report(project=pa, period_start=jan, period_end=feb, factors=FACTORS)
    assert "2026-02" in exc.value.fields["ongrid"]
    with pytest.raises(quantify.QuantifyRefused) as exc:
        quantify.create_report(project=pa, period_start=date(2026, 1, 2), period_end=feb,
                               factors={"ef_om": "0.8"})
    assert "period_start" in exc.value.fields
    with pytest.raises(quantify.QuantifyRefused) as exc:
        quantify.create_report(project=pa, period_start=jan, period_end=date(2026, 1, 31),
                               factors={"ef_om": "0.8", "ef_bm": ""})
    assert {"factors.source", "factors.ef_bm"} <= set(exc.value.fields)
    assert db.session.scalar(select(func.count(MonitoringReport.id))) == 0


def test_report_api_scoped_and_audited(client, db, pv, make_user, auth):
    a, b, pa, pb = pv
    put(db, [("PVA-ongrid", "2026-01-05", 1000), ("PVB-ongrid", "2026-01-05", 10)])
    ua, ub = (make_user("enterprise", enterprise=e.uscc) for e in (a, b))
    reviewer_a = make_user("reviewer", region="330522")
    reviewer_b = make_user("reviewer", region="330502")
    body = {"period_start": "2026-01-01", "period_end": "2026-01-31", "factors": FACTORS}
    # B cannot create for A's project (and does not learn it exists)
    assert client.post("/api/v1/trading/projects/PVA/reports", headers=auth(ub),
                       json=body).status_code == 404
    # a reviewer sees the project but is not its owner
    assert client.post("/api/v1/trading/projects/PVA/reports", headers=auth(reviewer_a),
                       json=body).status_code == 403
    r = client.post("/api/v1/trading/projects/PVA/reports", headers=auth(ua),
                    json={**body, "factors": None})
    assert r.status_code == 422 and "ef_om" in r.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(AuditRecord.id)).where(
        AuditRecord.action == "trading.report.refused")) == 1
    r = client.post("/api/v1/trading/projects/PVA/reports", headers=auth(ua), json=body)
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()["id"]
    assert r.get_json()["reduction"] == "675.0000" and r.get_json()["status"] == "draft"
    r = client.post("/api/v1/trading/projects/PVA/reports", headers=auth(ua), json=body)
    assert r.status_code == 422  # same period twice
    url = f"/api/v1/trading/projects/PVA/reports/{rid}"
    assert client.get(url, headers=auth(ua)).get_json()["result"]["reduction"] == "675.000000"
    assert client.get(url, headers=auth(reviewer_a)).status_code == 200
    assert client.get(url, headers=auth(ub)).status_code == 404
    assert client.get(url, headers=auth(reviewer_b)).status_code == 404
    assert client.get(f"/api/v1/trading/projects/PVB/reports/{rid}",
                      headers=auth(ub)).status_code == 404
    assert [x["id"] for x in client.get("/api/v1/trading/projects/PVA/reports",
                                        headers=auth(reviewer_a)).get_json()] == [rid]
    assert client.get("/api/v1/trading/projects/PVA/reports",
                      headers=auth(reviewer_b)).status_code == 404
    # recompute: owner only, drafts only
    put(db, [("PVA-ongrid", "2026-01-06", 200)])
    assert client.post(f"{url}/recompute", headers=auth(ub), json=body).status_code == 404
    assert client.post(f"{url}/recompute", headers=auth(reviewer_a),
                       json=body).status_code == 403
    r = client.post(f"{url}/recompute", headers=auth(ua), json=body)
    assert r.status_code == 200 and r.get_json()["reduction"] == "810.0000"
    db.session.get(MonitoringReport, rid).status = "submitted"
    db.session.commit()
    r = client.post(f"{url}/recompute", headers=auth(ua), json=body)
    assert r.status_code == 422 and "status" in r.get_json()["error"]["fields"]


def test_pages_scoped(client, db, pv, make_user):
    from tests.conftest import login

    a, b, pa, pb = pv
    put(db, [("PVA-generation", "2026-01-05", 1488), ("PVA-ongrid", "2026-01-05", 1000),
             ("PVB-generation", "2026-01-05", 7777)])
    quantify.create_report(project=pa, period_start=date(2026, 1, 1),
                           period_end=date(2026, 1, 31), factors=FACTORS)
    db.session.commit()
    login(client, make_user("enterprise", enterprise=a.uscc))
    page = client.get("/trading/projects/PVA?start=2026-01&end=2026-03").data.decode()
    assert "1,488.000" in page and "0.1000" in page and "675.0000 tCO2e" in page
    assert "PVA-ongrid" in page and "测试用因子" in page  # derivation origins shown
    assert client.get("/trading/projects/PVB").status_code == 404
    client.get("/logout")
    login(client, make_user("reviewer", region="330522"))
    page = client.get("/trading/monitoring?start=2026-01&end=2026-01").data.decode()
    assert "PVA 项目" in page and "PVB 项目" not in page and "7,777" not in page
    assert "1,488.000" in page


def test_quantify_many_matches_per_project(db, pv):
    a, b, pa, pb = pv
    put(db, [("PVA-ongrid", "2026-01-05", 1000)])
    jan, end = date(2026, 1, 1), date(2026, 1, 31)
    many = quantify.quantify_many(projects=[pa, pb], period_start=jan, period_end=end,
                                  factors=FACTORS)
    one = quantify.quantify(project=pa, period_start=jan, period_end=end, factors=FACTORS)[1]
    assert many["PVA"]["reduction"] == one["reduction"] == "675.000000"
    assert "2026-01" in many["PVB"]["refused"]["ongrid"]  # B has no data: refused alone


def test_efficiency_report_hand_computed(db, pv, make_project):
    import pytest

    a, b, pa, pb = pv
    p = make_project(a, code="EE1", ptype="efficiency", methodology="energy_efficiency")
    params = {"baseline_energy": "1000", "baseline_output": "100", "project_energy": "1000",
              "project_output": "120", "ef": "2"}
    with pytest.raises(quantify.QuantifyRefused) as exc:
        quantify.create_report(project=p, period_start=date(2026, 1, 1),
                               period_end=date(2026, 12, 31), parameters={})
    assert "parameters" in exc.value.fields
    report = quantify.create_report(project=p, period_start=date(2026, 1, 1),
                                    period_end=date(2026, 12, 31), parameters=params)
    # E_b,norm = 1,000 × 120 / 100 = 1,200; BE = 2,400; PE = 2,000; LE = 0 → ER = 400
    assert report.result["baseline"] == "2400.000000" and report.reduction == Decimal(400)
    origin = {ln["name"]: ln.get("origin") for ln in report.result["lines"]
              if ln["kind"] == "parameter"}
    assert origin["baseline_energy"].startswith("项目业主申报")
