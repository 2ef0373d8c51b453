"""Load (R-8.1b): 1,000 users sign in through the login form and browse home, the carbon
account, monitoring and the inbox with think time, against one node served as in production
(`gunicorn.conf.py`, PostgreSQL, the node's own Redis DB). Ramp-up and steady phase are
reported apart; the baseline of each page is the same page fetched by one user, unloaded,
in the same run. Goals: home average ≤ 0.3 s, login average ≤ 1 s, no failures.

Knobs: CECP_LOAD_USERS (1000), CECP_LOAD_RATE (users/s spawned, 10), CECP_LOAD_SECONDS
(total, 240), CECP_LOAD_WAIT (think time "min,max", "10,30": a person reading a page and
filling a form), CECP_BENCH_LOAD_DB.
The load generator runs on the same two cores: its CPU share is reported beside the figures.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import requests

from benchmarks import cluster, loadrun, pgdb

PAGES = (
    ("home", "/"),
    ("carbon account", "/accounts"),
    ("monitoring", "/monitoring/region"),
    ("inbox", "/workflow/inbox"),
)
GOALS = {"home": 0.3, "login": 1.0}


def _sign_in(host: str, email: str) -> tuple[requests.Session, float]:
    """Form, then POST (the redirect to home followed, as the load users do)."""
    s = requests.Session()
    form = s.get(host + "/auth/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    t = time.perf_counter()
    r = s.post(
        host + "/auth/login",
        data={"email": email, "password": loadrun.PASSWORD, "csrf_token": token},
    )
    assert r.status_code == 200 and "/auth/login" not in r.url, (email, r.status_code, r.url)
    return s, time.perf_counter() - t


def unloaded(host: str, n: int = 5, users: int = 5) -> dict[str, float]:
    """Average time of each page for one user alone, after a warm-up (the first request a
    worker process serves pays its imports and connections)."""
    accounts = [f"{loadrun.PREFIX}{i}@bench.cecp" for i in range(min(users, 4))]
    s, _ = _sign_in(host, accounts[0])  # warm-up
    times: dict[str, list[float]] = {
        "login": [_sign_in(host, email)[1] for email in (accounts[1:] or accounts)]
    }
    for name, path in PAGES:
        s.get(host + path)
        times[name] = []
        for _ in range(n):
            t = time.perf_counter()
            r = s.get(host + path)
            times[name].append(time.perf_counter() - t)
            assert r.status_code == 200, (path, r.status_code)
    return {k: statistics.fmean(v) for k, v in times.items()}


def _statuses(counts: dict[int, int]) -> str:
    return ", ".join(f"{'no answer' if code == 0 else code} × {n:,}"
                     for code, n in sorted(counts.items()))


def rows_for(result: dict, base: dict[str, float], users: int) -> list[dict]:
    rows = []
    for phase in ("ramp", "steady"):
        st = result[phase]
        for name in ("login form", "login", "home", "carbon account", "monitoring", "inbox"):
            s = st.by_name.get(name)
            if not s:
                continue
            goal = GOALS.get(name)
            rows.append(
                {
                    "measure": f"{users:,} users, {st.name}: {name} average",
                    "value": s["avg"],
                    "unit": "s",
                    "baseline": f"{name}, one user alone",
                    "baseline_value": base.get(name),
                    "note": f"p95 {s['p95']:.2f} s, max {s['max']:.2f} s, "
                    f"n={s['n']:,}, failures {s['failures']:,}"
                    + (f" (status: {_statuses(s['failed_status'])})" if s["failures"] else "")
                    + (f"; goal ≤ {goal} s" if goal else ""),
                }
            )
        rows.append(
            {
                "measure": f"{users:,} users, {st.name}: throughput",
                "value": st.rps,
                "unit": "req/s",
                "note": f"{st.requests:,} requests, {st.failures:,} failures",
            }
        )
    rows.append(
        {
            "measure": "load generator CPU share",
            "value": result["generator_share"] * 100,
            "unit": "%",
            "note": f"locust {result['generator_cpu']:.0f} s CPU, server "
            f"{result['server_cpu']:.0f} s CPU, wall {result['wall']:.0f} s, 2 cores",
        }
    )
    return rows


def run() -> list[dict]:
    users = int(os.environ.get("CECP_LOAD_USERS", 1000))
    rate = float(os.environ.get("CECP_LOAD_RATE", 10))
    seconds = int(os.environ.get("CECP_LOAD_SECONDS", 240))
    wait = os.environ.get("CECP_LOAD_WAIT", "10,30")
    url = pgdb.url_for(os.environ.get("CECP_BENCH_LOAD_DB", "cecp_bench_load"))
    work = Path(tempfile.mkdtemp(prefix="cecp-load-"))
    pgdb.recreate(url)
    redis_proc = node = None
    try:
        loadrun.prepare_database(url, users=users)
        redis_proc, rport = cluster.start_redis(work)
        env = cluster.app_env(
            database_url=url, redis_url=f"redis://127.0.0.1:{rport}/0", workdir=work
        )
        node = cluster.start_gunicorn(env, workdir=work)
        base = unloaded(node.url, users=users)
        result = loadrun.run_locust(
            host=node.url,
            users=users,
            spawn_rate=rate,
            seconds=seconds,
            workdir=work,
            wait=wait,
            server_pids=[node.proc.pid],
        )
        return rows_for(result, base, users)
    finally:
        cluster.stop(node.proc if node else None)
        cluster.stop(redis_proc)
        pgdb.recreate(url, drop_only=True)
        shutil.rmtree(work, ignore_errors=True)
