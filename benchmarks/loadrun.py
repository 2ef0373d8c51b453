"""Drive a Locust run against live nodes: prepare a database with demo data and load
accounts, run `benchmarks/locustfile.py` headless as a subprocess (bounded in users, rate and
time, to 127.0.0.1 only), and summarise it per phase with the generator's CPU share."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cluster import ROOT, SECRETS

PASSWORD = "Load#Bench2026x"
PREFIX = "load"


def prepare_database(url: str, *, users: int, enterprises: int = 6, months: int = 6) -> None:
    """Schema, reference and demo data, and `users` enterprise accounts load<i>@bench.cecp
    (in a child process: the secrets of a PostgreSQL configuration are set there only)."""
    code = f"""
import os
from app import create_app
from app.extensions import db
app = create_app({{"SQLALCHEMY_DATABASE_URI": {url!r}}})
with app.app_context():
    db.create_all()
    from app.demo import load_demo, demo_enterprise_uscc
    from app.identity import service as accounts
    load_demo(enterprises={enterprises}, months={months})
    db.session.commit()
    uscc = demo_enterprise_uscc()
    for i in range({users}):
        email = f"{PREFIX}{{i}}@bench.cecp"
        if accounts.get_by_email(email=email) is None:
            accounts.create(email=email, password={PASSWORD!r}, roles=["enterprise"],
                            scopes=[("enterprise", uscc)], display_name=f"负载用户 {{i}}",
                            check_policy=False)
        if i % 100 == 99:
            db.session.commit()
    db.session.commit()
"""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CECP_")},
        **SECRETS,
        "CECP_INSTANCE_PATH": "/tmp/cecp-bench-load",
    }
    env.pop("CECP_REDIS_URL", None)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env, timeout=1800)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and their live children (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    seen: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            todo.extend(int(c) for c in children)
        except (OSError, IndexError, ValueError):
            continue
    return total


@dataclass
class PhaseStats:
    name: str
    requests: int
    failures: int
    rps: float
    by_name: dict[str, dict[str, float]]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summarise(samples: list, start: float, end: float, name: str) -> PhaseStats:
    sel = [s for s in samples if start <= s[0] < end]
    by: dict[str, list] = {}
    for s in sel:
        by.setdefault(s[1], []).append(s)
    out = {}
    for key, rows in by.items():
        times = [r[2] for r in rows]
        out[key] = {
            "n": len(rows),
            "avg": statistics.fmean(times),
            "p95": _pct(times, 0.95),
            "max": max(times),
            "failures": sum(1 for r in rows if r[3]),
            "503": sum(1 for r in rows if r[4] == 503),
            # what the failures were: HTTP status, 0 = no answer (refused, timed out)
            "failed_status": dict(Counter(r[4] for r in rows if r[3])),
        }
    span = max(1e-9, end - start)
    return PhaseStats(name, len(sel), sum(1 for s in sel if s[3]), len(sel) / span, out)


def run_locust(
    *,
    host: str,
    users: int,
    spawn_rate: float,
    seconds: int,
    workdir: Path,
    wait: str = "5,15",
    server_pids: list[int] | None = None,
    during=None,
) -> dict:
    """Run Locust headless; `during(elapsed)` is called about once a second (fault
    injection). Returns phases, per-name stats and CPU shares."""
    out = workdir / f"locust-{int(time.time())}.json"
    env = {
        **os.environ,
        "CECP_LOAD_USERS_PREFIX": PREFIX,
        "CECP_LOAD_PASSWORD": PASSWORD,
        "CECP_LOAD_WAIT": wait,
        "CECP_LOAD_OUT": str(out),
    }
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "benchmarks" / "locustfile.py"),
        "--headless",
        "--only-summary",
        "--host",
        host,
        "-u",
        str(users),
        "-r",
        str(spawn_rate),
        "-t",
        f"{seconds}s",
        "--stop-timeout",
        "30",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    log = open(workdir / "locust.log", "ab")  # noqa: SIM115
    t0 = time.time()
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    gen_cpu = srv_cpu = 0.0
    last_gen, last_srv = 0.0, _cpu_seconds(server_pids or [])
    srv_start = last_srv
    while proc.poll() is None:
        time.sleep(1)
        if during is not None:
            during(time.time() - t0)
        g = _cpu_seconds([proc.pid])
        if g:
            last_gen = g
        s = _cpu_seconds(server_pids or [])
        if s >= last_srv:
            last_srv = s
        if time.time() - t0 > seconds + 120:
            proc.kill()
            raise TimeoutError("locust did not stop")
    wall = time.time() - t0
    gen_cpu, srv_cpu = last_gen, max(0.0, last_srv - srv_start)
    data = json.loads(out.read_text())
    steady_at = data["steady_at"] or (t0 + wall)
    end = t0 + wall
    samples = data["samples"]
    return {
        "ramp": summarise(samples, data["started"], steady_at, "ramp-up"),
        "steady": summarise(samples, steady_at, end, "steady"),
        "all": summarise(samples, data["started"], end, "all"),
        "wall": wall,
        "generator_cpu": gen_cpu,
        "server_cpu": srv_cpu,
        "generator_share": gen_cpu / max(1e-9, gen_cpu + srv_cpu),
        "samples": samples,
    }
