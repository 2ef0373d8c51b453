"""Readings over REST: idempotency, corrections, rollups, every bad-input class, scope."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _hours_ago(n: float) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=n)).replace(minute=0, second=0, microsecond=0)


def _count(model):
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def test_post_readings_idempotent_with_corrections_and_rollups(client, make_ent, make_client,
                                                               make_meter):
    from app.exchange.models import MeterReading, ReadingCorrection

    ent = make_ent(1)
    make_meter(ent, "M-1", multiplier="10")
    h = make_client("erp", enterprises=[ent.uscc])
    t0 = _hours_ago(30)
    rows = [{"meter": "M-1", "ts": _iso(t0 + timedelta(minutes=15 * i)), "value": "1.5"}
            for i in range(8)]
    r = client.post("/api/v1/readings", headers=h, json={"readings": rows})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["inserted"], body["corrected"], body["unchanged"]) == (8, 0, 0)
    # the same batch again: nothing new, nothing duplicated
    r = client.post("/api/v1/readings", headers=h, json={"readings": rows})
    assert r.get_json()["unchanged"] == 8 and _count(MeterReading) == 8
    # one value changed: a correction kept in history
    rows[0]["value"] = "2.5"
    r = client.post("/api/v1/readings", headers=h, json={"readings": rows})
    assert (r.get_json()["corrected"], r.get_json()["unchanged"]) == (1, 7)
    assert _count(MeterReading) == 8 and _count(ReadingCorrection) == 1
    # raw and rollups (x multiplier 10): 7 x 1.5 + 2.5 = 13 -> 130
    r = client.get("/api/v1/readings", headers=h, query_string={
        "meter": "M-1", "from": _iso(t0), "to": _iso(t0 + timedelta(days=1))})
    items = r.get_json()["items"]
    assert len(items) == 8 and items[0]["value"].startswith("2.5")
    r = client.get("/api/v1/readings", headers=h, query_string={"meter": "M-1",
                                                               "resolution": "hour"})
    hours = r.get_json()["items"]
    assert [h_["count"] for h_ in hours] == [4, 4]
    assert sum(float(x["total"]) for x in hours) == 130
    r = client.get("/api/v1/readings", headers=h, query_string={"meter": "M-1",
                                                               "resolution": "month"})
    assert sum(float(x["total"]) for x in r.get_json()["items"]) == 130


def test_idempotency_key_replays_the_first_batch(client, make_ent, make_client, make_meter):
    from app.exchange.models import ExchangeBatch

    ent = make_ent(1)
    make_meter(ent, "M-1")
    h = make_client("erp", enterprises=[ent.uscc])
    body = {"readings": [{"meter": "M-1", "ts": _iso(_hours_ago(2)), "value": "3"}],
            "idempotency_key": "k-1"}
    first = client.post("/api/v1/readings", headers=h, json=body)
    again = client.post("/api/v1/readings", headers=h, json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["replayed"] and again.get_json()["id"] == first.get_json()["id"]
    assert _count(ExchangeBatch) == 1


def test_csv_and_gzip_bodies(client, make_ent, make_client, make_meter):
    ent = make_ent(1)
    make_meter(ent, "M-1")
    h = make_client("erp", enterprises=[ent.uscc])
    t = _hours_ago(3)
    csv_text = "meter,ts,value\n" + "\n".join(
        f"M-1,{_iso(t + timedelta(minutes=i))},{i}" for i in range(5))
    r = client.post("/api/v1/readings", headers=h, data=csv_text, content_type="text/csv")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["inserted"] == 5
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as g:
        g.write(b'{"readings": [{"meter": "M-1", "ts": "' + _iso(t).encode()
                + b'", "value": "7"}]}')
    r = client.post("/api/v1/readings", headers={**h, "Content-Encoding": "gzip"},
                    data=buf.getvalue(), content_type="application/json")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["corrected"] == 1
    r = client.post("/api/v1/readings", headers=h, data="a,b\n1,2", content_type="text/csv")
    assert r.status_code == 400
    r = client.post("/api/v1/readings", headers=h, data="{not json",
                    content_type="application/json")
    assert r.status_code == 400 and "JSON" in r.get_json()["error"]["message"]


def test_every_bad_input_class_is_named_and_nothing_is_written(client, make_ent, make_client,
                                                               make_meter):
    from app.exchange.models import MeterReading

    ent = make_ent(1)
    make_meter(ent, "M-1", installed_at="2026-01-01T00:00:00+08:00")
    h = make_client("erp", enterprises=[ent.uscc])
    good = {"meter": "M-1", "ts": _iso(_hours_ago(1)), "value": "1"}
    bad = [
        {"meter": "NOPE", "ts": _iso(_hours_ago(1)), "value": "1"},
        {"meter": "M-1", "ts": _iso(datetime.now(UTC) + timedelta(days=1)), "value": "1"},
        {"meter": "M-1", "ts": "2025-06-01T00:00:00+08:00", "value": "1"},
        {"meter": "M-1", "ts": _iso(_hours_ago(2)), "value": "-4"},
        {"meter": "M-1", "ts": _iso(_hours_ago(3)), "value": "999999999999"},
        {"meter": "M-1", "ts": _iso(_hours_ago(4)), "value": "1", "unit": "GJ"},
        {"meter": "M-1", "ts": "yesterday", "value": "1"},
        {"meter": "M-1", "ts": "2026-06-01T00:00:00", "value": "1"},
        {"meter": "M-1", "ts": _iso(_hours_ago(5)), "value": "abc"},
        "not an object",
    ]
    r = client.post("/api/v1/readings", headers=h, json={"readings": [good, *bad]})
    assert r.status_code == 422, r.get_json()
    fields = r.get_json()["error"]["fields"]
    assert "不存在" in fields["readings.1.meter"]
    assert "晚于当前" in fields["readings.2.ts"]
    assert "启用时间" in fields["readings.3.ts"]
    assert "负数" in fields["readings.4.value"]
    assert "合理范围" in fields["readings.5.value"] or "过大" in fields["readings.5.value"]
    assert "单位" in fields["readings.6.unit"]
    assert "ISO 8601" in fields["readings.7.ts"]
    assert "时区" in fields["readings.8.ts"]
    assert "数字" in fields["readings.9.value"]
    assert "readings.10.row" in fields
    assert _count(MeterReading) == 0
    batch_id = r.get_json()["batch"]
    status = client.get(f"/api/v1/exchange/batches/{batch_id}", headers=h).get_json()
    assert status["status"] == "rejected" and status["rejected"] == 10
    assert status["errors"][0]["row"] == 2
    # partial mode: the good row is stored, the rest kept with reasons
    r = client.post("/api/v1/readings?mode=partial", headers=h,
                    json={"readings": [good, *bad]})
    assert r.status_code == 201 and r.get_json()["status"] == "partial"
    assert _count(MeterReading) == 1
    x = client.get(f"/api/v1/exchange/batches/{r.get_json()['id']}/rejected.xlsx", headers=h)
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(x.data)).active
    header = [c.value for c in ws[1]]
    assert header[0] == "行号" and header[-1] == "错误原因" and ws.max_row == 11


def test_absurd_bounds_are_configurable(app, client, make_ent, make_client, make_meter):
    ent = make_ent(1)
    make_meter(ent, "M-1", unit="kWh")
    h = make_client("erp", enterprises=[ent.uscc])
    row = {"meter": "M-1", "ts": _iso(_hours_ago(1)), "value": "5000"}  # 5 MWh
    app.config["CECP_READING_MAX"] = {"electricity": 1}  # 1 MWh per reading
    try:
        r = client.post("/api/v1/readings", headers=h, json={"readings": [row]})
    finally:
        app.config.pop("CECP_READING_MAX")
    assert r.status_code == 422
    assert "合理范围" in r.get_json()["error"]["fields"]["readings.0.value"]
    assert client.post("/api/v1/readings", headers=h,
                       json={"readings": [row]}).status_code == 201


def test_duplicate_in_one_batch(client, make_ent, make_client, make_meter):
    ent = make_ent(1)
    make_meter(ent, "M-1")
    h = make_client("erp", enterprises=[ent.uscc])
    ts = _iso(_hours_ago(1))
    same = [{"meter": "M-1", "ts": ts, "value": "1"}] * 2
    r = client.post("/api/v1/readings", headers=h, json={"readings": same})
    assert r.status_code == 201 and r.get_json()["inserted"] == 1
    differ = [{"meter": "M-1", "ts": ts, "value": "1"}, {"meter": "M-1", "ts": ts, "value": "2"}]
    r = client.post("/api/v1/readings", headers=h, json={"readings": differ})
    assert r.status_code == 422 and "第 1 行" in r.get_json()["error"]["fields"]["readings.1.ts"]


def test_batch_size_limit(client, make_ent, make_client, make_meter):
    ent = make_ent(1)
    make_meter(ent, "M-1")
    h = make_client("erp", enterprises=[ent.uscc])
    rows = [{"meter": "M-1", "ts": "2026-01-01T00:00:00Z", "value": "1"}] * 10_001
    r = client.post("/api/v1/readings", headers=h, json={"readings": rows})
    assert r.status_code == 422 and "10000" in r.get_json()["error"]["message"]
