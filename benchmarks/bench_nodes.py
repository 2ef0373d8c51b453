"""The N-node rule (R-8.1f): three app nodes behind HAProxy (Debian's package, started here
with a generated configuration), one killed halfway through a load run; the other two carry
the load. Reported: failed requests before and after the kill, and the requests each node
served per second — the figure the sizing rule in docs/operations.md is built on.

Knobs: CECP_NODES_USERS (300), CECP_NODES_SECONDS (120), CECP_LOAD_WAIT ("5,15").
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from benchmarks import cluster, loadrun, pgdb


def run() -> list[dict]:
    users = int(os.environ.get("CECP_NODES_USERS", 300))
    seconds = int(os.environ.get("CECP_NODES_SECONDS", 120))
    wait = os.environ.get("CECP_LOAD_WAIT", "5,15")
    url = pgdb.url_for(os.environ.get("CECP_BENCH_NODES_DB", "cecp_bench_nodes"))
    work = Path(tempfile.mkdtemp(prefix="cecp-nodes-"))
    pgdb.recreate(url)
    procs = []
    try:
        loadrun.prepare_database(url, users=users)
        env = cluster.app_env(database_url=url, redis_url=None, workdir=work)
        nodes = [cluster.start_gunicorn(env, workdir=work, workers=1) for _ in range(3)]
        procs.extend(n.proc for n in nodes)
        proxy, port = cluster.start_haproxy(backends=[n.port for n in nodes], workdir=work)
        procs.append(proxy)
        killed: dict[str, float] = {}

        def during(elapsed: float) -> None:
            if not killed and elapsed >= seconds / 2:
                killed["at"] = time.time()
                os.killpg(nodes[0].proc.pid, signal.SIGKILL)

        result = loadrun.run_locust(
            host=f"http://127.0.0.1:{port}",
            users=users,
            spawn_rate=max(5, users / 30),
            seconds=seconds,
            workdir=work,
            wait=wait,
            during=during,
            server_pids=[n.proc.pid for n in nodes],
        )
        at = killed.get("at", time.time())
        first = min((x[0] for x in result["samples"]), default=at)
        last = max((x[0] for x in result["samples"]), default=at)
        before = loadrun.summarise(result["samples"], first, at, "before")
        after = loadrun.summarise(result["samples"], at, last, "after")
        home_b, home_a = before.by_name.get("home", {}), after.by_name.get("home", {})
        return [
            {
                "measure": f"3 nodes, {users} users: failed requests before the kill",
                "value": before.failures / max(1, before.requests) * 100,
                "unit": "%",
                "note": f"{before.requests:,} requests, {before.rps:.1f} req/s",
            },
            {
                "measure": "3 → 2 nodes (one killed): failed requests after the kill",
                "value": after.failures / max(1, after.requests) * 100,
                "unit": "%",
                "note": f"{after.failures:,} of {after.requests:,}, {after.rps:.1f} req/s",
            },
            {
                "measure": "home average with 2 nodes left",
                "value": home_a.get("avg", 0),
                "unit": "s",
                "baseline": "home average with 3 nodes",
                "baseline_value": home_b.get("avg"),
                "note": f"p95 {home_a.get('p95', 0):.2f} s",
            },
            {
                "measure": "requests per surviving node",
                "value": after.rps / 2,
                "unit": "req/s",
                "baseline": "per node with 3",
                "baseline_value": before.rps / 3,
                "note": "input of the sizing rule (docs/operations.md)",
            },
        ]
    finally:
        for p in reversed(procs):
            cluster.stop(p)
        pgdb.recreate(url, drop_only=True)
        shutil.rmtree(work, ignore_errors=True)
