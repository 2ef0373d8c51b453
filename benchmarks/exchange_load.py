"""Load measures of the exchange (issue 14) shared by `bench_exchange` (full scale) and the
bounded tests (a few thousand rows): REST through real server processes, rollup lag after
a burst, the real-time page's read latency, and a sync from an intermediate database.

Every function returns figures and the counts it checked, never asserts on time.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rows(meters: list[str], n: int, start: datetime, step_minutes: int = 15) -> list[dict]:
    """n readings spread over the meters, one per meter per step, zone-qualified (UTC)."""
    per = max(1, n // len(meters))
    out = []
    for i in range(per):
        ts = (start + timedelta(minutes=step_minutes * i)).isoformat() + "+00:00"
        for ext in meters:
            out.append({"meter": ext, "ts": ts, "value": "12.5"})
    return out


def free_port(low: int, high: int) -> int:
    for port in range(low, high):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


class Gunicorn:
    """`gunicorn --workers N app.wsgi:app` on 127.0.0.1:port against `url` (a context)."""

    def __init__(self, *, url: str, port: int, workers: int = 2, env: dict | None = None):
        self.port, self.proc = port, None
        self.env = {**os.environ, "CECP_DATABASE_URL": url, "CECP_REDIS_URL": "", **(env or {})}
        self.args = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
            "--log-level",
            "warning",
            "app.wsgi:app",
        ]

    def __enter__(self) -> Gunicorn:
        import tempfile

        self.log = tempfile.NamedTemporaryFile(prefix="cecp-gunicorn-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited: " + self.errors())
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/health")
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError("gunicorn did not answer within 90 s")

    def errors(self) -> str:
        """The tail of the server's log (stderr)."""
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def post_batches(*, port: int, key: str, bodies: list[bytes], clients: int = 4) -> dict:
    """POST the prepared JSON bodies concurrently (keep-alive per client thread)."""
    local = threading.local()
    statuses: list[int] = []
    inserted: list[int] = []

    def one(body: bytes) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request(
            "POST",
            "/api/v1/readings",
            body=body,
            headers={"X-API-Key": key, "Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        data = json.loads(resp.read() or b"{}")
        statuses.append(resp.status)
        inserted.append(int(data.get("inserted") or 0))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, bodies))
    secs = time.perf_counter() - t0
    return {"seconds": secs, "statuses": statuses, "inserted": sum(inserted)}


def rollup_lag(*, ids: list[str], total: int, size: int, start: datetime) -> dict:
    """A burst of `total` readings in batches of `size` through the service, each
    committed; per batch the time from submission until its readings are in the hour /
    day / month rollups (they are written in the same transaction, so this is the commit
    latency), and the rollups checked against the raw table. Baseline: recomputing the
    burst's rollups from the raw rows in one GROUP BY (what a separate rollup job would
    need after the burst)."""
    from sqlalchemy import text

    from app.exchange import service
    from app.extensions import db
    from app.identity.scope import DataScope

    data = rows(ids, total, start)
    lags: list[float] = []
    t_burst = time.perf_counter()
    for i in range(0, len(data), size):
        t0 = time.perf_counter()
        service.submit_readings(
            items=data[i : i + size],
            scope=DataScope(all=True),
            user=None,
            source="rest",
            client="burst",
            limit=None,
        )
        db.session.commit()
        lags.append(time.perf_counter() - t0)
    burst = time.perf_counter() - t_burst
    end = start + timedelta(minutes=15 * (len(data) // len(ids)))
    params = {"s": start, "e": end}
    t0 = time.perf_counter()
    raw = db.session.execute(
        text(
            "SELECT count(*), coalesce(sum(r.value * m.multiplier), 0) FROM meter_reading r "
            "JOIN meter m ON m.id = r.meter_id WHERE r.ts >= :s AND r.ts < :e"
        ),
        params,
    ).one()
    regroup = db.session.execute(
        text(
            "SELECT count(*) FROM (SELECT r.meter_id, "
            "date_trunc('hour', r.ts + interval '8 hours') "
            "FROM meter_reading r WHERE r.ts >= :s AND r.ts < :e GROUP BY 1, 2) x"
        ),
        params,
    ).scalar()
    recompute = time.perf_counter() - t0
    rolled = db.session.execute(
        text(
            "SELECT coalesce(sum(count), 0), coalesce(sum(total), 0) FROM meter_rollup "
            "WHERE resolution = 'month' AND last_ts >= :s AND last_ts < :e"
        ),
        params,
    ).one()
    lags.sort()
    return {
        "readings": len(data),
        "burst_seconds": burst,
        "lag_p95": lags[min(len(lags) - 1, int(len(lags) * 0.95))],
        "lag_max": lags[-1],
        "recompute_seconds": recompute,
        "raw": (int(raw[0]), raw[1]),
        "rolled": (int(rolled[0]), rolled[1]),
        "hour_buckets": int(regroup),
    }


def p95(samples: list[float]) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * 0.95))]


def page_reads(client, path: str, n: int) -> dict:
    """n GETs of a page through a logged-in test client; p95 and the status codes."""
    times, codes, body = [], set(), ""
    for _ in range(n):
        t0 = time.perf_counter()
        # read and close each answer, as a server does: an unclosed body would hold its
        # overload-gate slot (app.platform.overload) until garbage collection
        with client.get(path) as r:
            body = r.get_data(as_text=True)
        times.append(time.perf_counter() - t0)
        codes.add(r.status_code)
    return {"p95": p95(times), "codes": codes, "body": body}


def power_db(path: Path, meters: list[str], hours: int, start: datetime) -> int:
    """A power-marketing intermediate database (SQLite) of meters x hours rows."""
    from integrations.demo import SCHEMA

    conn = sqlite3.connect(path)
    conn.execute(SCHEMA)

    def gen():
        for h in range(hours):
            t = (start + timedelta(hours=h)).isoformat(sep=" ")
            for i, m in enumerate(meters):
                yield (f"33{i:08d}", m, t, h, 1, 12.5, 8.5)

    conn.executemany("INSERT INTO yx_cbsj VALUES (?, ?, ?, ?, ?, ?, ?)", gen())
    conn.commit()
    n = conn.execute("SELECT count(*) FROM yx_cbsj").fetchone()[0]
    conn.close()
    return n


def raw_read(path: Path) -> float:
    """Baseline for the sync: fetch every row of the source and nothing else (rows/s)."""
    conn = sqlite3.connect(path)
    t0 = time.perf_counter()
    n = 0
    cur = conn.execute('SELECT * FROM yx_cbsj ORDER BY "抄表时间"')
    while chunk := cur.fetchmany(10_000):
        n += len(chunk)
    conn.close()
    return n / (time.perf_counter() - t0)
