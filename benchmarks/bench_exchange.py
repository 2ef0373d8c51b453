"""Exchange (issue 14): readings into the month-partitioned, indexed table on PostgreSQL.

Measures, in one run on its own database:
  * the bulk path (`app.exchange.service.submit_readings`: validation with the Chinese
    field rules, COPY into a temporary table, deltas, corrections, upsert, rollups) against
    a raw COPY of the same number of rows into the same partitioned table (baseline);
  * the store step alone (no validation), same baseline;
  * REST JSON batches of 10,000 readings through the WSGI app with an X-API-Key (one
    process, Flask's test client: no network, no second server process);
  * SOAP SubmitReadings through zeep and a local HTTP server.

Environment: CECP_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/cecp_bench_exchange; created and dropped),
CECP_BENCH_READINGS (rows per bulk measure, default 200,000).
Run: `.venv/bin/python -m benchmarks --only exchange`.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta
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
        r = client.post("/api/v1/readings", json=body, headers={"X-API-Key": key})
        assert r.status_code == 201, r.get_json()
    rest_s = time.perf_counter() - t0
    out.append({"measure": f"REST JSON, {batches} batches of {size:,} (X-API-Key)",
                "value": batches * size / rest_s, "unit": "readings/s",
                "baseline": "bulk path (same run)", "baseline_value": n / bulk_s,
                "note": "one process, test client; goal ≥ 50,000/s with 2 server processes"})
    out.append(_soap(app, ids, key))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return out


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
