"""Electricity-carbon factors (issue 17), each beside a same-run baseline:
  * the 31-province carbon-emission-flow solve (goal ≤ 10 ms) beside numpy's dense solve;
  * a 2,000-node sparse network (goal ≤ 1 s) beside a dense solve of the same system;
  * the enterprise factor library for N enterprises × 36 months on PostgreSQL (goal: 100,000
    in ≤ 60 s) beside a per-enterprise loop (query, scipy theilslopes + linregress, ORM
    insert) on a sample, extrapolated.

Environment: CECP_BENCH_SCALE (fraction of 100,000 enterprises, default 1),
CECP_BENCH_DATABASE_URL (default …/cecp_bench_factors; created and dropped).
Run: `.venv/bin/python -m benchmarks --only factors`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import pgdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cecp_bench_factors"
FULL = 100_000
MONTHS = 36
CITIES = ["330102", "330105", "330106", "330200", "330300", "330400", "330502", "330522",
          "330600", "330700", "330800", "331000"]
INDUSTRIES = ["3011", "3041", "2614", "2651", "2221", "3120", "3216", "2511"]


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def _dense(net) -> np.ndarray:
    """The same system solved densely (numpy), for the baseline."""
    n = net.n
    pb = np.zeros((n, n))
    np.add.at(pb, (net.flow_from, net.flow_to), net.flow_mwh)
    gen = np.zeros((n, len(net.sources)))
    np.add.at(gen, (net.gen_node, net.gen_source), net.gen_mwh * net.gen_intensity)
    inflow = np.bincount(net.gen_node, net.gen_mwh, n) + pb.sum(axis=0)
    return np.linalg.solve(np.diag(inflow) - pb.T, gen)


def _random_grid(n: int, seed: int = 1):
    """A ring-and-chords grid: each node sends to 3 others, at most 60 % of its generation."""
    from app.factors.flow import Network

    rng = np.random.default_rng(seed)
    gen_node = np.repeat(np.arange(n), 2)
    gen_src = np.tile([0, 1], n)
    gen_mwh = rng.uniform(100, 1000, 2 * n)
    a = np.repeat(np.arange(n), 3)
    b = (a + rng.integers(1, n, a.size)) % n
    gen = np.bincount(gen_node, gen_mwh, n)
    flow = 0.2 * gen[a] * rng.uniform(0.5, 1.0, a.size)
    return Network(node_ids=[str(i) for i in range(n)], sources=["coal", "non_fossil"],
                   gen_node=gen_node, gen_source=gen_src, gen_mwh=gen_mwh,
                   gen_intensity=np.where(gen_src == 0, rng.uniform(0.8, 1.0, 2 * n), 0.0),
                   flow_from=a, flow_to=b, flow_mwh=flow)


def _solver_rows() -> list[dict]:
    from app.factors import regional
    from app.factors.flow import solve
    from app.factors.network import parse

    payload, _ = regional.read_files(generation=regional.DATA / "demo_2021_generation.csv",
                                     exchange=regional.DATA / "demo_2021_exchange.csv")
    net31, _ = parse(payload)
    s31 = _median_ms(lambda: solve(net31), 200)
    d31 = _median_ms(lambda: _dense(net31), 200)
    big = _random_grid(2000)
    s2k = _median_ms(lambda: solve(big), 5)
    d2k = _median_ms(lambda: _dense(big), 3)
    same = np.allclose(np.nansum(solve(big).by_source, axis=1), _dense(big).sum(axis=1))
    return [
        {"measure": "31-province flow solve, full result (goal ≤ 10 ms)", "value": s31,
         "unit": "ms", "baseline": "dense numpy solve only", "baseline_value": d31,
         "note": "median of 200; includes per-source split, branch flows, checks"},
        {"measure": "2,000-node sparse network solve (goal ≤ 1 s)", "value": s2k, "unit": "ms",
         "baseline": "dense numpy solve of the same system", "baseline_value": d2k,
         "note": f"6,000 branches, 2 sources; results equal: {same}"},
    ]


def _load(n_ent: int) -> None:
    from app.energy.service import load_reference as load_energy
    from app.extensions import db
    from app.identity.service import ensure_roles
    from app.orgs.reference import load_reference
    from app.refdata.uscc import make_uscc

    load_reference()
    load_energy()
    ensure_roles()
    db.session.commit()
    raw = db.engine.raw_connection()
    conn = raw.driver_connection
    pgdb.copy_rows(conn, "enterprise", ("id", "uid", "uscc", "name", "region_code",
                                        "industry_code", "scale", "key_emitter", "active",
                                        "created_at", "updated_at"),
                   ((i, f"{i:032x}", make_uscc(f"91{CITIES[i % 12][:4]}00B{i:08d}"),
                     f"基准企业{i}", CITIES[i % 12], INDUSTRIES[i % len(INDUSTRIES)], "规上",
                     "f", "t", "2025-01-01", "2025-01-01") for i in range(1, n_ent + 1)))
    rng = np.random.default_rng(42)

    def accounts():
        rid = 0
        for start in range(1, n_ent + 1, 5000):
            ids = np.arange(start, min(start + 5000, n_ent + 1))
            size = rng.lognormal(0, 0.5, ids.size)
            b = rng.uniform(0.5, 1.5, ids.size)
            e = 1000 * size[:, None] * rng.uniform(0.6, 1.4, (ids.size, MONTHS))
            co2 = 50 * size[:, None] + b[:, None] * e * rng.normal(1, 0.05, e.shape)
            for k, ent in enumerate(ids.tolist()):
                region = CITIES[ent % 12]
                for m in range(MONTHS):
                    rid += 1
                    year, month = 2023 + m // 12, m % 12 + 1
                    c = round(float(co2[k, m]), 3)
                    yield (rid, ent, year, month, year * 100 + month, region, "3011", 0, c,
                           round(c * 0.4, 3), 0, round(c * 0.6, 3), 0, 0, 0, 0,
                           round(float(e[k, m]), 3), 1, "t", "bench", "2025-12-31")

    pgdb.copy_rows(conn, "carbon_account", (
        "id", "enterprise_id", "year", "month", "period", "region_code", "industry_code",
        "energy_tce", "co2_total", "co2_combustion", "co2_process", "co2_electricity",
        "co2_heat", "co2_electricity_exported", "co2_heat_exported", "co2_biomass",
        "electricity_mwh", "version", "is_current", "method", "computed_at"), accounts())
    with conn.cursor() as cur:
        cur.execute("ANALYZE enterprise")
        cur.execute("ANALYZE carbon_account")
    conn.commit()
    raw.close()


def _per_enterprise(sample: int) -> float:
    """Seconds per enterprise for the naive loop (the baseline)."""
    from scipy import stats
    from sqlalchemy import select

    from app.accounting.models import CarbonAccount
    from app.extensions import db
    from app.factors.models import ElectricityFactor

    t0 = time.perf_counter()
    for ent in range(1, sample + 1):
        rows = db.session.execute(select(CarbonAccount.electricity_mwh, CarbonAccount.co2_total)
                                  .where(CarbonAccount.enterprise_id == ent,
                                         CarbonAccount.is_current.is_(True))
                                  .order_by(CarbonAccount.period)).all()
        x = np.array([float(r[0]) for r in rows])
        y = np.array([float(r[1]) for r in rows])
        ts = stats.theilslopes(y, x)
        ols = stats.linregress(x, y)
        db.session.add(ElectricityFactor(
            enterprise_id=ent, version=100, origin="computed", method="theil_sen",
            slope=round(ts.slope, 6), intercept=round(ts.intercept, 4),
            ci_low=round(ts.low_slope, 6), ci_high=round(ts.high_slope, 6),
            ols_slope=round(ols.slope, 6), n_months=len(x), flags=[], is_current=False))
        db.session.flush()
    elapsed = (time.perf_counter() - t0) / sample
    db.session.rollback()
    return elapsed


def run() -> list[dict]:
    rows = _solver_rows()
    scale = float(os.environ.get("CECP_BENCH_SCALE", "1"))
    url = os.environ.get("CECP_BENCH_DATABASE_URL", DEFAULT_URL)
    n_ent = max(50, int(FULL * scale))
    os.environ.setdefault("CECP_MASTER_KEY", "00112233445566778899aabbccddeeff")
    from app import create_app
    from app.extensions import db

    pgdb.recreate(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CECP_REDIS_URL": None,
                      "TESTING": True})
    try:
        with app.app_context():
            db.create_all()
            t_load = time.perf_counter()
            _load(n_ent)
            t_load = time.perf_counter() - t_load
            from app.factors import library

            load_before = os.getloadavg()
            t0 = time.perf_counter()
            summary = library.compute()
            db.session.commit()
            t_set = time.perf_counter() - t0
            load_after = os.getloadavg()
            per_ent = _per_enterprise(min(300, n_ent))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        pgdb.recreate(url, drop_only=True)
    rows.append({
        "measure": f"enterprise factors, {n_ent:,} enterprises × {MONTHS} months, PostgreSQL "
                   "(goal: 100,000 in ≤ 60 s)", "value": t_set, "unit": "s",
        "baseline": "per-enterprise loop, extrapolated", "baseline_value": per_ent * n_ent,
        "note": f"{summary.written:,} versions written; load {t_load:.0f} s (COPY); "
                f"loadavg {load_before[0]:.1f}→{load_after[0]:.1f}"})
    return rows
