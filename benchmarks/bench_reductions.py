"""Reduction quantification (issue 18, R-6.3b): N PV projects × 12 months of month rollups
on PostgreSQL (goal: 10,000 projects), quantified set-based (`quantify.quantify_many`: one
aggregation query over the rollups of all projects, then the methodology in Decimal per
project) beside the per-project loop (`quantify.quantify`: one query per project) in the
same run, on the same data; both answers are checked equal.

Environment: CECP_BENCH_SCALE (fraction of 10,000 projects, default 1),
CECP_BENCH_DATABASE_URL (default …/cecp_bench_reductions; created and dropped).
Run: `.venv/bin/python -m benchmarks --only reductions`.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, datetime
from pathlib import Path

from benchmarks import pgdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cecp_bench_reductions"
FULL = 10_000
FACTORS = {"ef_om": "0.8", "ef_bm": "0.3", "source": "benchmark factors (not published values)"}


def _load(n: int) -> None:
    from app.energy.models import EnergyType
    from app.extensions import db
    from app.orgs.models import Enterprise, Region
    from app.refdata.uscc import make_uscc

    db.session.add(Region(code="330000", name="浙江省", level="province"))
    db.session.add(EnergyType(code="electricity", name="电力", category="electricity",
                              unit="MWh"))
    db.session.add(Enterprise(id=1, uscc=make_uscc("91330000MA3000001"), name="基准企业",
                              region_code="330000"))
    db.session.flush()
    conn = db.session.connection().connection.driver_connection
    now = datetime(2026, 1, 1)
    pgdb.copy_rows(conn, "trading_project", (
        "id", "code", "name", "type", "enterprise_uscc", "region_code", "capacity_mw",
        "generation_meter", "ongrid_meter", "own_use_meter", "methodology", "status",
        "created_at", "updated_at"),
        ((i, f"P{i}", f"项目{i}", "photovoltaic", make_uscc("91330000MA3000001"), "330000",
          "20", f"G{i}", f"O{i}", f"U{i}", "grid_renewable", "operating", now, now)
         for i in range(1, n + 1)))
    pgdb.copy_rows(conn, "meter", (
        "id", "enterprise_id", "external_id", "energy_type", "unit", "multiplier", "active",
        "created_at"),
        ((3 * i + k, 1, f"{pre}{i}", "electricity", "MWh", 1, True, now)
         for i in range(1, n + 1) for k, pre in enumerate("GOU")))
    pgdb.copy_rows(conn, "meter_rollup", (
        "meter_id", "resolution", "bucket", "total", "count", "last_ts"),
        ((3 * i + k, "month", datetime(2025, m, 1), v, 30, datetime(2025, m, 28))
         for i in range(1, n + 1) for m in range(1, 13)
         for k, v in enumerate((1500 + i % 97, 1470 + i % 97, 30))))
    db.session.commit()


def run() -> list[dict]:
    scale = float(os.environ.get("CECP_BENCH_SCALE", "1"))
    url = os.environ.get("CECP_BENCH_DATABASE_URL", DEFAULT_URL)
    n = max(20, int(FULL * scale))
    os.environ.setdefault("CECP_MASTER_KEY", "00112233445566778899aabbccddeeff")
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db

    pgdb.recreate(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CECP_REDIS_URL": None,
                      "TESTING": True})
    try:
        with app.app_context():
            db.create_all()
            _load(n)
            from app.trading import quantify
            from app.trading.models import Project

            projects = db.session.scalars(select(Project).order_by(Project.id)).all()
            start, end = date(2025, 1, 1), date(2025, 12, 31)
            t0 = time.perf_counter()
            many = quantify.quantify_many(projects=projects, period_start=start,
                                          period_end=end, factors=FACTORS)
            t_set = time.perf_counter() - t0
            t0 = time.perf_counter()
            loop = {p.code: quantify.quantify(project=p, period_start=start, period_end=end,
                                              factors=FACTORS)[1] for p in projects}
            t_loop = time.perf_counter() - t0
            assert all(many[c]["reduction"] == loop[c]["reduction"] for c in loop), \
                "set-based and per-project answers differ"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        pgdb.recreate(url, drop_only=True)
    return [{"measure": f"quantification, {n:,} projects × 12 months, PostgreSQL, set-based "
                        "(goal: 10,000 projects)", "value": t_set, "unit": "s",
             "baseline": "per-project loop (one query each)", "baseline_value": t_loop,
             "note": f"{n * 36:,} month rollups; answers equal"}]
