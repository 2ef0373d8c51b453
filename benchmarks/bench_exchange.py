"""Exchange (issue 14): readings into the month-partitioned, indexed table on PostgreSQL.

Measures, in one run on its own database:
  * the bulk path (`app.exchange.service.submit_readings`: validation with the Chinese
    field rules, COPY into a temporary table, deltas, corrections, upsert, rollups) against
    a raw COPY of the same number of rows into the same partitioned table (baseline);
  * the store step alone (no validation), same baseline;
  * REST JSON batches of 10,000 readings through the WSGI app with an X-API-Key (one
    process, Flask's test client: no network, no second server process);
  * SOAP SubmitReadings through zeep and a local HTTP server;
  * REST JSON batches of 10,000 through gunicorn with 2 worker processes (and with 1, same
    run), 4 concurrent client connections, on 127.0.0.1:18080-18099;
  * rollup lag after a burst of CECP_BENCH_BURST readings (default 1,000,000) in batches of
    10,000: per batch, submission to rollups visible; baseline: recomputing the burst's
    rollups from the raw rows;
  * the real-time page (`/exchange/realtime/<uscc>`, 50 meters): p95 of reads from the
    Redis store, baseline the database path (embedded mode), same run;
  * a sync of CECP_BENCH_SYNC_ROWS rows (default 1,000,000) from a power-marketing
    intermediate database (SQLite) through the shipped mapping; baseline: reading the same
    rows from the source alone.

Environment: CECP_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/cecp_bench_exchange; created and dropped),
CECP_BENCH_READINGS (rows per bulk measure, default 200,000), CECP_BENCH_REST_BATCHES
(default 20), CECP_BENCH_BURST, CECP_BENCH_SYNC_ROWS, CECP_BENCH_REDIS (default
redis://127.0.0.1:6379/8).
Run: `.venv/bin/python -m benchmarks --only exchange`.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from benchmarks import pgdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cecp_bench_exchange"
METERS = 200


def _rows(meters: list[str], n: int, start: datetime) -> list[dict]:
    per = n // len(meters)
    out = []
    for i in range(per):
        ts = (start + timedelta(minutes=15 * i)).isoformat() + "+00:00"
        for ext in meters:
            out.append({"meter": ext, "ts": ts, "value": "12.5"})
    return out


def run() -> list[dict]:
    os.environ.setdefault("CECP_MASTER_KEY", "00112233445566778899aabbccddeeff")
    url = os.environ.get("CECP_BENCH_DATABASE_URL", DEFAULT_URL)
    n = int(os.environ.get("CECP_BENCH_READINGS", "200000"))
    with pgdb.scratch(url):
        return _measure(url, n)


def _measure(url: str, n: int) -> list[dict]:
    import tempfile

    os.environ.setdefault("CECP_INSTANCE_PATH", tempfile.mkdtemp(prefix="cecp-bench-"))
    from app import create_app
    from app.energy.service import load_reference as load_energy
    from app.exchange import clients, partitions, readings, service
    from app.exchange.models import Meter
    from app.extensions import db
    from app.identity.scope import DataScope
    from app.identity.service import ensure_roles
    from app.orgs.models import Enterprise
    from app.orgs.reference import load_reference
    from app.refdata.uscc import make_uscc

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CECP_REDIS_URL": None})
    out: list[dict] = []
    with app.app_context():
        db.create_all()
        partitions.forget()
        load_reference()
        load_energy()
        ensure_roles()
        ent = Enterprise(uscc=make_uscc("91330522MA3000001"), name="基准企业",
                         region_code="330522", industry_code="3011", scale="规上")
        db.session.add(ent)
        db.session.flush()
        meters = [Meter(enterprise_id=ent.id, external_id=f"B-{i:04d}", energy_type="electricity",
                        unit="kWh", multiplier=Decimal(1)) for i in range(METERS)]
        db.session.add_all(meters)
        _, key = clients.create(name="bench", enterprises=[ent.uscc])
        db.session.commit()
        ids = [m.external_id for m in meters]
        uscc = ent.uscc
        by_ext = {m.external_id: m.id for m in meters}
        scope = DataScope(all=True)

        # raw COPY baseline: same table, same number of rows, months of its own
        base_rows = _rows(ids, n, datetime(2024, 1, 1))
        partitions.ensure({partitions.month_start(datetime(2024, 1, 1) + timedelta(days=d))
                           for d in range(0, 200, 10)})
        db.session.commit()
        raw = db.engine.raw_connection()
        t0 = time.perf_counter()
        pgdb.copy_rows(raw.driver_connection, "meter_reading", ("meter_id", "ts", "value"),
                       ((by_ext[r["meter"]], r["ts"][:-6], r["value"]) for r in base_rows))
        raw.driver_connection.commit()
        copy_s = time.perf_counter() - t0
        raw.close()
        copy_rate = len(base_rows) / copy_s

        # the bulk service path (validate + store + rollups), fresh months
        rows = _rows(ids, n, datetime(2025, 1, 1))
        t0 = time.perf_counter()
        batch, _ = service.submit_readings(items=rows, scope=scope, user=None, source="cli",
                                           client="bench", limit=None)
        db.session.commit()
        bulk_s = time.perf_counter() - t0
        assert batch.inserted == len(rows), batch.message
        out.append({"measure": f"bulk path, {len(rows):,} readings (validate + store + rollups)",
                    "value": len(rows) / bulk_s, "unit": "readings/s",
                    "baseline": "raw COPY into the same table", "baseline_value": copy_rate,
                    "note": "goal ≥ 100,000/s and ≥ 30 % of raw COPY"})

        # the store step alone
        store_rows = [(by_ext[r["meter"]], datetime.fromisoformat(r["ts"][:-6]),
                       Decimal(r["value"])) for r in _rows(ids, n, datetime(2025, 7, 1))]
        t0 = time.perf_counter()
        readings.store(store_rows, batch_id=None)
        db.session.commit()
        store_s = time.perf_counter() - t0
        out.append({"measure": "store step only (COPY temp + deltas + upsert + rollups)",
                    "value": len(store_rows) / store_s, "unit": "readings/s",
                    "baseline": "raw COPY into the same table", "baseline_value": copy_rate})

        # a repeat of the same rows: idempotent, nothing written
        t0 = time.perf_counter()
        again = readings.store(store_rows, batch_id=None)
        db.session.commit()
        out.append({"measure": "same readings again (all ignored)",
                    "value": len(store_rows) / (time.perf_counter() - t0),
                    "unit": "readings/s", "note": f"unchanged={again.unchanged:,}"})

    # REST JSON batches of 10,000 through the app
    client = app.test_client()
    batches, size = 5, 10_000
    start = datetime(2026, 1, 1)
    bodies = [{"readings": _rows(ids, size, start + timedelta(days=3 * b))}
              for b in range(batches)]
    t0 = time.perf_counter()
    for body in bodies:
        with client.post("/api/v1/readings", json=body, headers={"X-API-Key": key}) as r:
            assert r.status_code == 201, r.get_json()  # leaving `with` closes the body
    rest_s = time.perf_counter() - t0
    out.append({"measure": f"REST JSON, {batches} batches of {size:,} (X-API-Key)",
                "value": batches * size / rest_s, "unit": "readings/s",
                "baseline": "bulk path (same run)", "baseline_value": n / bulk_s,
                "note": "one process, test client; goal ≥ 50,000/s with 2 server processes"})
    out.append(_soap(app, ids, key))
    out += _rest_processes(url, ids, key, bulk_rate=n / bulk_s)
    with app.app_context():
        out.append(_rollup_lag(ids))
        out.append(_sync(app))
        db.session.remove()
        db.engine.dispose()
    out.append(_realtime(url, uscc))
    return out


def _rest_processes(url: str, ids: list[str], key: str, *, bulk_rate: float) -> list[dict]:
    """gunicorn with 2 workers, then with 1 (baseline), each fed the same shape of load."""
    import json

    from benchmarks import exchange_load as load

    n = int(os.environ.get("CECP_BENCH_REST_BATCHES", "20"))
    out, rates = [], {}
    for workers, year in ((1, 2022), (2, 2021)):
        bodies = [json.dumps({"readings": load.rows(
            ids, 10_000, datetime(year, 1, 1) + timedelta(days=3 * b))}).encode()
            for b in range(n)]
        port = load.free_port(18080, 18100)
        with load.Gunicorn(url=url, port=port, workers=workers) as server:
            res = load.post_batches(port=port, key=key, bodies=bodies, clients=4)
            assert set(res["statuses"]) == {201}, (res, server.errors())
        assert res["inserted"] == n * 10_000, res
        rates[workers] = n * 10_000 / res["seconds"]
    out.append({"measure": f"REST JSON, gunicorn 2 workers, {n} × 10,000, 4 connections",
                "value": rates[2], "unit": "readings/s",
                "baseline": "same load, 1 worker", "baseline_value": rates[1],
                "note": "goal ≥ 50,000/s"})
    out.append({"measure": "REST JSON, gunicorn 2 workers vs the in-process bulk path",
                "value": rates[2], "unit": "readings/s",
                "baseline": "bulk path (same run)", "baseline_value": bulk_rate})
    return out


def _rollup_lag(ids: list[str]) -> dict:
    from benchmarks import exchange_load as load

    total = int(os.environ.get("CECP_BENCH_BURST", "1000000"))
    res = load.rollup_lag(ids=ids, total=total, size=10_000, start=datetime(2019, 1, 1))
    assert res["raw"] == res["rolled"], res  # every reading of the burst is in the rollups
    return {"measure": f"rollup lag after a burst of {res['readings']:,} (batches of 10,000)",
            "value": res["lag_p95"], "unit": "s (p95 per batch)",
            "baseline": "recompute the burst's rollups from raw rows",
            "baseline_value": res["recompute_seconds"],
            "note": f"max {res['lag_max']:.2f} s; whole burst {res['burst_seconds']:.1f} s "
                    f"({res['readings'] / res['burst_seconds']:,.0f}/s)"}


def _sync(app) -> dict:
    import tempfile

    from app.exchange import meters as meter_service
    from app.extensions import db
    from app.identity.scope import DataScope
    from benchmarks import exchange_load as load
    from integrations import etl

    total = int(os.environ.get("CECP_BENCH_SYNC_ROWS", "1000000"))
    from app.orgs.models import Enterprise

    uscc = db.session.scalar(db.select(Enterprise.uscc))
    names = [f"S-{i:03d}" for i in range(100)]
    for ext in names:
        meter_service.create(data={"enterprise": uscc, "external_id": ext,
                                   "energy_type": "electricity", "unit": "kWh",
                                   "multiplier": "1"}, scope=DataScope(all=True))
    db.session.commit()
    folder = Path(tempfile.mkdtemp(prefix="cecp-bench-power-"))
    path = folder / "power.db"
    rows = load.power_db(path, names, total // len(names), datetime(2018, 1, 1))
    base = load.raw_read(path)
    app.config["CECP_POWER_SYNC_URL"] = f"sqlite:///{path}"
    t0 = time.perf_counter()
    res = etl.sync("power_marketing")
    secs = time.perf_counter() - t0
    app.config.pop("CECP_POWER_SYNC_URL")
    path.unlink()
    folder.rmdir()
    assert res["rows"] == rows and res["rejected"] == 0, res
    return {"measure": f"sync of {rows:,} rows from the intermediate database",
            "value": rows / secs, "unit": "rows/s",
            "baseline": "reading the same rows from the source only", "baseline_value": base,
            "note": f"{secs:.1f} s, {res['batches']} batches"}


def _realtime(url: str, uscc: str) -> dict:
    """The real-time page of one enterprise with 50 meters: Redis store vs the DB path."""
    from app import create_app
    from app.exchange import service
    from app.extensions import db
    from app.identity import service as accounts
    from app.identity.scope import DataScope
    from app.jobs.queues import connection
    from benchmarks import exchange_load as load

    redis_url = os.environ.get("CECP_BENCH_REDIS", "redis://127.0.0.1:6379/8")
    figures = {}
    for mode, redis in (("redis", redis_url), ("db", None)):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CECP_REDIS_URL": redis,
                          "WTF_CSRF_ENABLED": False, "CECP_QUEUE_PREFIX": "cecpbenchx",
                          "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
        with app.app_context():
            ids = [f"B-{i:04d}" for i in range(50)]
            if mode == "redis":
                accounts.create(email="rt@bench.cecp", password="Bench#Pass2026x",
                                roles=["enterprise"], scopes=[("enterprise", uscc)],
                                check_policy=False)
                today = (datetime.now(UTC) - timedelta(hours=1)).replace(minute=0, tzinfo=None)
                service.submit_readings(items=load.rows(ids, 50, today, 1),
                                        scope=DataScope(all=True), user=None,
                                        source="rest", client="bench", limit=None)
                db.session.commit()
            db.session.remove()
        # requests outside the app context: a held context would reuse its `g` (and
        # Flask-Login's cached anonymous user) for every request
        client = app.test_client()
        client.post("/auth/login", data={"email": "rt@bench.cecp",
                                         "password": "Bench#Pass2026x"})
        res = load.page_reads(client, f"/exchange/realtime/{uscc}", 60)
        assert res["codes"] == {200}, res["codes"]
        assert "B-0000" in res["body"]
        figures[mode] = res["p95"] * 1000
        with app.app_context():
            if mode == "redis":
                conn = connection()
                for key in conn.scan_iter("cecpbenchx:*"):
                    conn.delete(key)
            db.session.remove()
            db.engine.dispose()
    return {"measure": "real-time page read, 50 meters (Redis store)", "value": figures["redis"],
            "unit": "ms (p95 of 60)", "baseline": "same page from the database (embedded)",
            "baseline_value": figures["db"]}


def _soap(app, ids: list[str], key: str) -> dict:
    """zeep from the published WSDL against a local werkzeug server (same process)."""
    import threading

    from werkzeug.serving import make_server
    from zeep import Client
    from zeep.wsse.username import UsernameToken

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        c = Client(f"http://127.0.0.1:{srv.server_port}/ws/exchange?wsdl",
                   wsse=UsernameToken("bench", key))
        batches, size = 5, 2_000
        bodies = [_rows(ids, size, datetime(2026, 2, 1) + timedelta(days=2 * b))
                  for b in range(batches)]
        t0 = time.perf_counter()
        for rows in bodies:
            res = c.service.SubmitReadings(readings={"Reading": rows})
            assert res.inserted == size, res
        secs = time.perf_counter() - t0
    finally:
        srv.shutdown()
        th.join(timeout=5)
    return {"measure": f"SOAP SubmitReadings, {batches} × {size:,} (zeep, WS-Security)",
            "value": batches * size / secs, "unit": "readings/s",
            "note": "client and server share the process and the 2 cores; goal ≥ 5,000/s"}


if __name__ == "__main__":
    for row in run():
        print(row)
