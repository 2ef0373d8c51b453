"""Carbon accounting reports (issue 13):

* one enterprise-year report (collect + lay out + chart; goal ≤ 1 s), median of 5, beside
  the same document without the chart, rendered in the same run;
* N reports through the job queue: `request_report` for N enterprises (pending documents +
  outbox rows, one commit), dispatched to rq (Redis DB `CECP_BENCH_REDIS`, default
  redis://127.0.0.1:6379/2) and worked by 2 `cecp worker --burst` processes that render,
  sign and store them; reports/s from the workers' start to the last one done, beside one
  process rendering a sample directly (no queue, no signing, no storing).

N = 10,000 × CECP_BENCH_SCALE (default 0.01 = 100 reports: a full run renders for about an
hour and a half on two cores). The enterprises are copies of one enterprise with two years
of real records (six sources) computed by the accounting engine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.pgdb import scratch, url_for

FULL = 10_000
YEAR = 2025
ROOT = Path(__file__).resolve().parents[1]
LINES = [
    {"item": "anthracite", "flow": "consumed", "amount": "120", "unit": "t"},
    {"item": "natural_gas", "flow": "consumed", "amount": "10", "unit": "万立方米"},
    {"item": "electricity", "flow": "purchased", "amount": "800", "unit": "MWh"},
    {"item": "electricity", "flow": "exported", "amount": "40", "unit": "MWh"},
    {"item": "heat", "flow": "purchased", "amount": "50", "unit": "GJ"},
    {"item": "process_caco3", "flow": "process", "amount": "5", "unit": "t"},
]


def _setup(n: int) -> list[int]:
    """One template enterprise through the real engine, then n-1 copies by SQL."""
    from sqlalchemy import text

    from app.energy import records
    from app.energy.service import load_reference as load_energy
    from app.extensions import db
    from app.identity.scope import DataScope
    from app.orgs.models import Enterprise
    from app.orgs.reference import load_reference
    from app.refdata.uscc import make_uscc
    from app.uow import commit

    template = make_uscc("91330522MA3000999")
    load_reference()
    load_energy()
    db.session.add(
        Enterprise(
            uscc=template,
            name="基准水泥有限公司 0",
            region_code="330522",
            industry_code="3011",
            scale="规上",
        )
    )
    commit()
    items = [
        {
            "uscc": template,
            "year": y,
            "month": m,
            "gross_output": "3000",
            "value_added": "1000",
            "lines": LINES,
        }
        for y in (YEAR - 1, YEAR)
        for m in range(1, 13)
    ]
    records.create_many(items=items, scope=DataScope(all=True), today=date(2026, 6, 1))
    commit()
    ent_cols = [
        c.name
        for c in db.metadata.tables["enterprise"].columns
        if c.name not in ("id", "uid", "uscc", "name")
    ]
    sql = [
        f"""INSERT INTO enterprise (uid, uscc, name, {", ".join(ent_cols)})
           SELECT md5(random()::text || g), '91BENCH' || lpad(g::text, 11, '0'),
                  '基准水泥有限公司 ' || g, {", ".join(ent_cols)}
           FROM enterprise, generate_series(1, :n) g WHERE uscc = :t""",
        """INSERT INTO energy_record (enterprise_id, year, month, period, gross_output,
               value_added, source, revision, created_at, updated_at)
           SELECT e.id, r.year, r.month, r.period, r.gross_output, r.value_added, r.source,
                  r.revision, now(), now()
           FROM energy_record r, enterprise e WHERE e.uscc LIKE '91BENCH%'
             AND r.enterprise_id = (SELECT id FROM enterprise WHERE uscc = :t)""",
    ]
    for stmt in sql:
        db.session.execute(text(stmt), {"n": n - 1, "t": template})
    cols = [
        c.name
        for c in db.metadata.tables["carbon_account"].columns
        if c.name not in ("id", "enterprise_id", "record_id")
    ]
    line_cols = [
        c.name
        for c in db.metadata.tables["carbon_account_line"].columns
        if c.name not in ("id", "account_id")
    ]
    db.session.execute(
        text(
            f"""INSERT INTO carbon_account (enterprise_id, record_id, {", ".join(cols)})
            SELECT e.id, r.id, {", ".join("a." + c for c in cols)}
            FROM carbon_account a JOIN enterprise e ON e.uscc LIKE '91BENCH%'
            JOIN energy_record r ON r.enterprise_id = e.id AND r.period = a.period
            WHERE a.enterprise_id = (SELECT id FROM enterprise
                                     WHERE uscc = :t)"""
        ),
        {"t": template},
    )
    db.session.execute(
        text(
            f"""INSERT INTO carbon_account_line (account_id, {", ".join(line_cols)})
            SELECT c.id, {", ".join("l." + c for c in line_cols)}
            FROM carbon_account_line l JOIN carbon_account t ON t.id = l.account_id
            JOIN carbon_account c ON c.period = t.period AND c.enterprise_id <> t.enterprise_id
            WHERE t.enterprise_id = (SELECT id FROM enterprise
                                     WHERE uscc = :t)"""
        ),
        {"t": template},
    )
    db.session.commit()
    return list(db.session.scalars(text("SELECT id FROM enterprise ORDER BY id")))


def _one(ent, charts: bool, rounds: int = 5) -> tuple[float, float]:
    """Median wall time and median CPU time (this process) of one report."""
    from reports import service

    times, cpu = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        service.render(
            enterprise=ent, year=YEAR, document_id="0" * 32, trigger="manual", charts=charts
        )
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), statistics.median(cpu)


def _workers(url: str, redis: str, prefix: str, n_workers: int) -> float:
    env = {
        **os.environ,
        "CECP_DATABASE_URL": url,
        "CECP_REDIS_URL": redis,
        "CECP_QUEUE_PREFIX": prefix,
        "OPENBLAS_NUM_THREADS": "1",
    }
    cecp = str(Path(sys.executable).with_name("cecp"))
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [cecp, "worker", "--burst"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(n_workers)
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise RuntimeError(f"worker failed: {err.decode()[-2000:]}")
    return time.perf_counter() - t0


def run() -> list[dict]:
    from app import create_app
    from app.documents.models import Document
    from app.extensions import db
    from app.jobs import queues
    from app.orgs.models import Enterprise
    from reports import service

    scale = float(os.environ.get("CECP_BENCH_SCALE", "0.01"))
    n = max(int(FULL * scale), 10)
    redis = os.environ.get("CECP_BENCH_REDIS", "redis://127.0.0.1:6379/2")
    prefix = f"cecpbenchreports{os.getpid()}"
    rows: list[dict] = []
    os.environ.setdefault("CECP_INSTANCE_PATH", "/tmp/cecp-bench")
    with scratch(url_for("cecp_bench_reports")) as url:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "CECP_REDIS_URL": None,
                "CECP_QUEUE_PREFIX": prefix,
                "CECP_EMBEDDED_TICKER": False,
            }
        )
        with app.app_context():
            db.create_all()
            ids = _setup(n)
            ent = db.session.get(Enterprise, ids[0])
            _one(ent, True, 1)  # font registration and imports outside the timing
            load = os.getloadavg()[0]
            (with_chart, cpu), (without, cpu_without) = _one(ent, True), _one(ent, False)
            rows.append(
                {
                    "measure": "one enterprise-year report (8 pages, chart; goal ≤ 1 s)",
                    "value": with_chart * 1000,
                    "unit": "ms",
                    "baseline": "same report without the chart",
                    "baseline_value": without * 1000,
                    "note": f"CPU {cpu * 1000:.0f} ms (without chart "
                    f"{cpu_without * 1000:.0f} ms; the rest is waiting for the "
                    f"database and the CPU: load average {load:.1f})",
                }
            )
            sample = ids[:10]
            t0 = time.perf_counter()
            for i in sample:
                service.render(
                    enterprise=db.session.get(Enterprise, i),
                    year=YEAR,
                    document_id="0" * 32,
                    trigger="manual",
                )
            direct = len(sample) / (time.perf_counter() - t0)
            app.config["CECP_REDIS_URL"] = redis
            from app.uow import commit

            for chunk in range(0, len(ids), 500):
                for i in ids[chunk : chunk + 500]:
                    service.request_report(
                        enterprise=db.session.get(Enterprise, i), year=YEAR, trigger="manual"
                    )
                commit()  # hands the rows to rq
                db.session.expunge_all()
            elapsed = _workers(url, redis, prefix, 2)
            done = db.session.scalar(
                db.select(db.func.count()).select_from(Document).where(Document.status == "ready")
            )
            for q in queues.all_queues():
                q.empty()
            rows.append(
                {
                    "measure": f"{n:,} reports through the job queue, 2 workers "
                    "(render + SM2 sign + store)",
                    "value": done / elapsed,
                    "unit": "reports/s",
                    "baseline": "1 process rendering directly (no queue, no signing)",
                    "baseline_value": direct,
                    "note": f"{done:,}/{n:,} issued in {elapsed:.1f} s; full scale "
                    f"{FULL:,} ≈ {FULL / max(done / elapsed, 1e-9) / 60:.0f} min",
                }
            )
            db.session.remove()
            db.engine.dispose()
    return rows
