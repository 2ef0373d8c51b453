"""Monitoring (R-6.3a): monthly figures from readings stored through the exchange service,
hand-computed capacity factor, each anomaly, settlements, exports, the demo seed hook and
tenant isolation of every new endpoint."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.identity.datascope import DataScope
from app.trading import monitoring
from app.trading.models import Settlement

ALL = DataScope(all=True)


def put(db, rows):
    """rows: (meter, 'YYYY-MM-DD', value) stored through the exchange service."""
    from app.exchange import service

    batch, _ = service.submit_readings(
        items=[{"meter": m, "ts": f"{d}T12:00:00+08:00", "value": str(v)} for m, d, v in rows],
        scope=ALL, user=None, source="etl", client="etl:power_marketing")
    assert batch.accepted == len(rows), batch.message
    db.session.commit()


def settle(db, project, month, mwh, fee=None):
    monitoring.record_settlements(items=[{"project": project.code, "month": month,
                                          "settled_mwh": mwh, "fee_yuan": fee}],
                                  scope=ALL, source="test")
    db.session.commit()


def test_monthly_figures_and_capacity_factor(db, pv):
    a, b, pa, pb = pv
    put(db, [("PVA-generation", "2026-01-05", 1000), ("PVA-generation", "2026-01-20", 488),
             ("PVA-ongrid", "2026-01-20", 1450), ("PVA-own_use", "2026-01-20", 38)])
    settle(db, pa, "2026-01", "1450", "567675")
    from datetime import date

    [row] = monitoring.public(monitoring.figures([pa], [date(2026, 1, 1)])[pa.id])
    # 1,488 MWh / (20 MW × 744 h) = 0.1
    assert row == {"month": "2026-01", "generation": "1488.000", "ongrid": "1450.000",
                   "own_use": "38.000", "capacity_factor": "0.1000", "settled_mwh": "1450.000",
                   "fee_yuan": "567675.00", "settlement_source": "test", "anomalies": []}


def test_each_anomaly(db, pv):
    from datetime import date

    a, b, pa, pb = pv
    put(db, [("PVA-generation", "2026-02-10", 100), ("PVA-ongrid", "2026-02-10", 120),
             ("PVA-generation", "2026-03-01", 10000), ("PVA-generation", "2026-03-02", 10000),
             ("PVA-ongrid", "2026-03-02", 1000)])
    settle(db, pa, "2026-02", "150")      # 150 vs 120: 25 % > 5 %
    settle(db, pa, "2026-03", "1040")     # 1,040 vs 1,000: 4 % ≤ 5 %
    feb, mar = monitoring.figures([pa], [date(2026, 2, 1), date(2026, 3, 1)])[pa.id]
    assert {x["code"] for x in feb["anomalies"]} == {"ongrid_above_generation",
                                                      "settlement_gap"}
    gap = next(x for x in feb["anomalies"] if x["code"] == "settlement_gap")
    assert "25.00%" in gap["message"] and gap["source"]
    # 20,000 MWh / (20 MW × 744 h) = 1.3441 > 1 (definitional bound)
    assert mar["capacity_factor"] == "1.3441"
    assert [x["code"] for x in mar["anomalies"]] == ["capacity_factor"]


def test_gap_threshold_is_configurable(app, db, pv):
    from datetime import date

    a, b, pa, pb = pv
    put(db, [("PVA-generation", "2026-03-02", 1100), ("PVA-ongrid", "2026-03-02", 1000)])
    settle(db, pa, "2026-03", "1040")
    app.config["CECP_SETTLEMENT_GAP_PCT"] = "3"
    try:
        [mar] = monitoring.figures([pa], [date(2026, 3, 1)])[pa.id]
        assert [x["code"] for x in mar["anomalies"]] == ["settlement_gap"]
    finally:
        app.config.pop("CECP_SETTLEMENT_GAP_PCT")


def test_views_exports_and_isolation(client, db, pv, make_user, auth):
    a, b, pa, pb = pv
    put(db, [("PVA-generation", "2026-01-05", 1488), ("PVA-ongrid", "2026-01-05", 1450),
             ("PVB-generation", "2026-01-05", 500), ("PVB-ongrid", "2026-01-05", 600)])
    ua = make_user("enterprise", enterprise=a.uscc)
    reviewer = make_user("reviewer", region="330522")
    admin = make_user("admin")
    q = "start=2026-01&end=2026-02"
    r = client.get(f"/api/v1/trading/projects/PVA/monitoring?{q}", headers=auth(ua))
    assert r.status_code == 200 and r.get_json()["months"][0]["capacity_factor"] == "0.1000"
    assert client.get(f"/api/v1/trading/projects/PVB/monitoring?{q}",
                      headers=auth(ua)).status_code == 404
    r = client.get(f"/api/v1/trading/projects/PVA/monitoring?{q}&format=csv", headers=auth(ua))
    text = r.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("月份,发电量（MWh）") and "2026-01,1488.000" in text
    r = client.get(f"/api/v1/trading/projects/PVA/monitoring?{q}&format=xlsx", headers=auth(ua))
    ws = load_workbook(io.BytesIO(r.data)).active
    assert ws["B2"].value == 1488 and ws["B2"].number_format == "#,##0.000"
    # government view: the reviewer of 330522 sees A's project only
    view = client.get(f"/api/v1/trading/monitoring?{q}", headers=auth(reviewer)).get_json()
    assert [p["code"] for p in view["projects"]] == ["PVA"]
    assert view["totals"][0]["generation"] == "1488.000" and view["anomalies"] == []
    view = client.get(f"/api/v1/trading/monitoring?{q}", headers=auth(admin)).get_json()
    assert view["totals"][0]["generation"] == "1988.000"
    assert [x["project"] for x in view["anomalies"]] == ["PVB"]  # on-grid above generation
    r = client.get(f"/api/v1/trading/monitoring?{q}&format=csv", headers=auth(reviewer))
    assert "1488.000" in r.data.decode("utf-8-sig") and "1988" not in r.data.decode()
    assert client.get("/api/v1/trading/monitoring?start=2026-13",
                      headers=auth(admin)).status_code == 422


def test_settlements_endpoint_scoped_and_audited(client, db, pv):
    from app.exchange import clients

    a, b, pa, pb = pv
    _, key = clients.create(name="grid-b", enterprises=[b.uscc],
                            permissions=["settlements.write"])
    _, plain = clients.create(name="erp-b", enterprises=[b.uscc])
    db.session.commit()
    h = {"X-API-Key": key}
    r = client.post("/api/v1/trading/settlements", headers=h, json={"items": [
        {"project": "PVB", "month": "2026-01", "settled_mwh": "600", "fee_yuan": "234900"}]})
    assert r.status_code == 201, r.get_json()
    s = db.session.scalar(select(Settlement))
    assert (s.settled_mwh, s.fee_yuan, s.source) == (Decimal(600), Decimal(234900), "grid-b")
    # A's project is outside the client's scope: refused, nothing stored, audited
    r = client.post("/api/v1/trading/settlements", headers=h, json={"items": [
        {"project": "PVB", "month": "2026-02", "settled_mwh": "1"},
        {"project": "PVA", "month": "2026-01", "settled_mwh": "1"}]})
    assert r.status_code == 422 and "items[1].project" in r.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(Settlement.id))) == 1
    assert db.session.scalar(select(func.count(AuditRecord.id)).where(
        AuditRecord.action == "trading.settlement.refused")) == 1
    r = client.post("/api/v1/trading/settlements", headers=h, json={"items": [
        {"project": "PVB", "month": "2026/01", "settled_mwh": "-1"}]})
    assert set(r.get_json()["error"]["fields"]) == {"items[0].month", "items[0].settled_mwh"}
    # a client without the permission cannot post at all
    r = client.post("/api/v1/trading/settlements", headers={"X-API-Key": plain},
                    json={"items": [{"project": "PVB", "month": "2026-03",
                                     "settled_mwh": "1"}]})
    assert r.status_code == 403


def test_seed_demo_monitoring(db, energy, make_ent, make_project):
    from datetime import date

    ent = make_ent(7)
    p = make_project(ent, code="DEMOPV")
    out = monitoring.seed_demo_monitoring(project=p, year=2025)
    db.session.commit()
    rows = monitoring.figures([p], monitoring.months(date(2025, 1, 1), date(2025, 12, 1)))[p.id]
    assert [r["ongrid"] for r in rows] == list(out["ongrid"].values())
    assert all(r["settled_mwh"] == r["ongrid"] and not r["anomalies"] for r in rows)
    # January: 20 MW × 24 h × 0.10 = 48 MWh a day, 31 days → 1,488 MWh, CF 0.1
    assert rows[0]["generation"] == "1488.000" and rows[0]["capacity_factor"] == "0.1000"


def test_import_settlements_all_or_nothing(app, db, pv, tmp_path):
    from app.cli import cli

    a, b, pa, pb = pv
    runner = app.test_cli_runner()
    f = tmp_path / "s.csv"
    f.write_text("project,month,settled_mwh,fee_yuan\nPVA,2026-01,1450,567675\n"
                 "NOPE,2026-13,x,\n", encoding="utf-8")
    out = runner.invoke(cli, ["import", "settlements", str(f)])
    assert out.exit_code == 1
    assert "第 3 行 project" in out.output and "第 3 行 month" in out.output
    assert db.session.scalar(select(func.count(Settlement.id))) == 0
    f.write_text("project,month,settled_mwh,fee_yuan\nPVA,2026-01,1450,567675\n",
                 encoding="utf-8")
    out = runner.invoke(cli, ["import", "settlements", str(f)])
    assert out.exit_code == 0, out.output
    s = db.session.scalar(select(Settlement))
    assert (s.settled_mwh, s.fee_yuan, s.source) == (Decimal(1450), Decimal(567675),
                                                     "import:s.csv")


def test_non_object_bodies_are_4xx(client, db, pv, make_user, auth):
    a, b, pa, pb = pv
    admin = auth(make_user("admin"))
    owner = auth(make_user("enterprise", enterprise=a.uscc))
    for url, h in (("/api/v1/trading/settlements", admin),
                   ("/api/v1/trading/projects/PVA/reports", owner)):
        for body in ([1, 2], "x", 3):
            r = client.post(url, headers=h, json=body)
            assert r.status_code == 422, (url, body, r.status_code)
