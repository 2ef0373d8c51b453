"""No tenant reads or writes another's meters, readings, batches or real-time figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select


def _ts(hours: int = 1) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def test_clients_and_users_stay_in_their_scope(client, make_ent, make_client, make_meter,
                                               make_user, auth):
    from app.audit.models import AuditRecord
    from app.exchange.models import MeterReading
    from app.extensions import db

    a, b = make_ent(1), make_ent(2, region="330100")
    make_meter(a, "A-1")
    make_meter(b, "B-1")
    ha = make_client("erp-a", enterprises=[a.uscc])
    hb = make_client("erp-b", enterprises=[b.uscc])
    person_b = auth(make_user("enterprise", enterprise=b.uscc))

    # meters: list / get / create
    assert [m["external_id"] for m in client.get("/api/v1/meters", headers=ha).get_json()] \
        == ["A-1"]
    assert client.get("/api/v1/meters/B-1", headers=ha).status_code == 404
    assert client.get("/api/v1/meters/B-1", headers=person_b).status_code == 200
    r = client.post("/api/v1/meters", headers=ha, json={
        "enterprise": b.uscc, "external_id": "X", "energy_type": "electricity", "unit": "kWh"})
    assert r.status_code == 403
    # readings: write and read
    r = client.post("/api/v1/readings", headers=ha,
                    json={"readings": [{"meter": "B-1", "ts": _ts(), "value": "1"}]})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "out_of_scope"
    assert db.session.scalar(select(func.count()).select_from(MeterReading)) == 0
    assert client.get("/api/v1/readings?meter=B-1", headers=ha).status_code == 404
    # batches: only the submitter (and administrators)
    r = client.post("/api/v1/readings", headers=hb,
                    json={"readings": [{"meter": "B-1", "ts": _ts(), "value": "1"}]})
    bid = r.get_json()["id"]
    assert client.get(f"/api/v1/exchange/batches/{bid}", headers=hb).status_code == 200
    assert client.get(f"/api/v1/exchange/batches/{bid}", headers=ha).status_code == 404
    assert client.get(f"/api/v1/exchange/batches/{bid}/rejected.xlsx",
                      headers=ha).status_code == 404
    assert client.get(f"/api/v1/exchange/batches/{bid}", headers=person_b).status_code == 404
    # real time
    assert client.get(f"/api/v1/exchange/realtime?enterprise={b.uscc}",
                      headers=ha).status_code == 404
    r = client.get(f"/api/v1/exchange/realtime?enterprise={b.uscc}", headers=hb)
    assert [m["meter"] for m in r.get_json()["meters"]] == ["B-1"]
    refused = db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "exchange.scope_refused")).all()
    assert len(refused) >= 3


def test_pages_are_scoped(client, make_ent, make_meter, make_user):
    from tests.conftest import login

    a, b = make_ent(1), make_ent(2, region="330100")
    make_meter(a, "A-1")
    make_meter(b, "B-1")
    user = make_user("enterprise", enterprise=a.uscc)
    login(client, user)
    r = client.get(f"/exchange/realtime/{a.uscc}")
    assert r.status_code == 200 and "A-1" in r.get_data(as_text=True)
    assert client.get(f"/exchange/realtime/{b.uscc}").status_code == 404
    assert client.get("/exchange/log").status_code == 403
    assert client.get("/exchange/batches").status_code == 200


def test_realtime_figures_from_store(client, make_ent, make_client, make_meter):
    a = make_ent(1)
    make_meter(a, "A-1", multiplier="2")
    h = make_client("erp-a", enterprises=[a.uscc])
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = [{"meter": "A-1", "ts": (now - timedelta(minutes=m)).isoformat(), "value": "1"}
            for m in (1, 2)]
    client.post("/api/v1/readings", headers=h, json={"readings": rows})
    got = client.get(f"/api/v1/exchange/realtime?enterprise={a.uscc}", headers=h).get_json()
    meter = got["meters"][0]
    assert meter["value"].startswith("1") and meter["ts"].startswith(
        (now - timedelta(minutes=1)).replace(tzinfo=None).isoformat())
    # today's total (Beijing day) counts both unless the day just turned
    assert float(meter["today"]) in (4.0, 2.0)
