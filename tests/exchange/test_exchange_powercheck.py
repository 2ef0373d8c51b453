"""The self-check compares declared electricity with the power system's (synced through
the power-marketing mapping); the monitoring pages show 数据截至 per source."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from integrations import demo


def _power_db(path, meter: str, start: datetime, hours: int, kwh: float) -> None:
    """Hourly rows (Beijing time) of one meter in the power-marketing schema."""
    conn = sqlite3.connect(path)
    conn.execute(demo.SCHEMA)
    for i in range(hours):
        t = start + timedelta(hours=i)
        conn.execute(
            "INSERT OR REPLACE INTO yx_cbsj VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("3300000001", meter, t.isoformat(sep=" "), i, 1, kwh, kwh * 0.68),
        )
    conn.commit()
    conn.close()


def _record(ent, year: int, month: int, mwh: str) -> None:
    from app.energy import records
    from app.extensions import db
    from app.identity.scope import DataScope

    records.create_many(
        items=[
            {
                "uscc": ent.uscc,
                "year": year,
                "month": month,
                "value_added": "1000",
                "lines": [
                    {"flow": "purchased", "item": "electricity", "amount": mwh, "unit": "MWh"}
                ],
            }
        ],
        scope=DataScope(all=True),
        source="form",
    )
    db.session.commit()


def test_declared_electricity_against_the_power_system(
    app, client, make_ent, make_meter, make_client, tmp_path, monkeypatch
):
    from app.cases import selfcheck
    from app.extensions import db
    from integrations import etl

    ent = make_ent(1)
    make_meter(ent, "PS-1", installed_at="2020-01-01T00:00:00+08:00")
    _record(ent, 2026, 9, "50")
    _record(ent, 2026, 10, "100")
    # the enterprise's own postings for September never count as the power system's
    h = make_client("erp", enterprises=[ent.uscc])
    own = [
        {"meter": "PS-1", "ts": f"2026-09-{d:02d}T00:00:00+08:00", "value": "1000"}
        for d in range(1, 29)
    ]
    assert client.post("/api/v1/readings", json={"readings": own}, headers=h).status_code == 201
    check = selfcheck.run(enterprise=ent, year=2026, month=9)
    assert "报告期内没有电力系统同步的用电数据，未核对用电量" in check["notes"]
    assert "无电力系统数据来源，未核对用电量" not in check["notes"]
    # October from the power system: 744 h x 100 kWh = 74.4 MWh against 100 declared
    path = tmp_path / "power.db"
    _power_db(path, "PS-1", datetime(2026, 10, 1), 31 * 24, 100)
    monkeypatch.setitem(app.config, "CECP_POWER_SYNC_URL", f"sqlite:///{path}")
    assert etl.sync("power_marketing")["rejected"] == 0
    check = selfcheck.run(enterprise=ent, year=2026, month=10)
    flagged = [w for w in check["warnings"] if w["code"] == "power_electricity"]
    assert len(flagged) == 1, check
    assert "100.0 MWh" in flagged[0]["message"] and "74.4 MWh" in flagged[0]["message"]
    assert "+34.4%" in flagged[0]["message"] and "非标准规定" in flagged[0]["message"]
    assert selfcheck.still_valid(check)
    # within the threshold (configurable) nothing is flagged, and the old seal is stale
    monkeypatch.setitem(app.config, "CECP_SELF_CHECK_ELECTRICITY_PCT", 40)
    assert not selfcheck.still_valid(check)
    assert not [
        w
        for w in selfcheck.run(enterprise=ent, year=2026, month=10)["warnings"]
        if w["code"] == "power_electricity"
    ]
    monkeypatch.setitem(app.config, "CECP_SELF_CHECK_ELECTRICITY_PCT", 10)
    # new power-system data changes the basis: an earlier sealed result is not reused
    # (the sync is incremental: only the row at the watermark is read again, corrected)
    check = selfcheck.run(enterprise=ent, year=2026, month=10)
    _power_db(path, "PS-1", datetime(2026, 10, 1), 31 * 24, 134.4)
    etl.sync("power_marketing")
    assert not selfcheck.still_valid(check)
    again = selfcheck.run(enterprise=ent, year=2026, month=10)
    assert [w["message"] for w in again["warnings"] if w["code"] == "power_electricity"][0].count(
        "+34.3%"
    ) == 1
    # a month the sync covers only in part is not compared, and the note says why
    _record(ent, 2026, 11, "100")
    _power_db(path, "PS-1", datetime(2026, 11, 20), 24 * 3, 10)
    etl.sync("power_marketing")
    nov = selfcheck.run(enterprise=ent, year=2026, month=11)
    assert any("2026年11月电力系统数据不完整" in n for n in nov["notes"]), nov["notes"]
    assert not [w for w in nov["warnings"] if w["code"] == "power_electricity"]
    db.session.rollback()


def test_monitoring_shows_data_as_of_per_source(
    app, client, make_ent, make_meter, make_client, make_user
):
    from app.extensions import db
    from tests.conftest import enrol_totp, login

    ent = make_ent(1)
    other = make_ent(2, region="330102")
    make_meter(ent, "AS-1")
    make_meter(other, "AS-2")
    h = make_client("erp", enterprises=[ent.uscc])
    ts = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    r = client.post(
        "/api/v1/readings",
        headers=h,
        json={"readings": [{"meter": "AS-1", "ts": ts.isoformat(), "value": "5"}]},
    )
    assert r.status_code == 201
    h2 = make_client("erp2", enterprises=[other.uscc])
    later = ts + timedelta(minutes=10)
    client.post(
        "/api/v1/readings",
        headers=h2,
        json={"readings": [{"meter": "AS-2", "ts": later.isoformat(), "value": "5"}]},
    )
    db.session.commit()
    reviewer = make_user("reviewer", region="330500")
    enrol_totp(reviewer)
    login(client, reviewer)
    page = client.get("/monitoring/region").get_data(as_text=True)
    bj = (ts + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert 'id="freshness-sources"' in page
    assert f"企业自报计量读数：数据截至 {bj}" in page
    api = client.get("/api/v1/monitoring/region").get_json()["freshness"]["sources"]
    assert [s["label"] for s in api] == [f"企业自报计量读数：数据截至 {bj}"]
    # the other city's later reading is not the reviewer's to see
    assert (later + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") not in page
