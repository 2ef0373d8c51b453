"""Monitoring at scale on PostgreSQL (issue 5).

With N enterprises x 36 months of carbon accounts (2 lines each: electricity + one fuel),
bulk-loaded with COPY into its own database, it measures:
  * p95 of GET /api/v1/monitoring/region (province, monthly series + ranking + energy mix +
    sectors + industries) and /industry through the real API (token auth, scope, JSON),
    beside the p95 of only the monthly series computed from the raw accounts in the same run;
  * building the facts from scratch (`refresh_facts()`);
  * a new month for every enterprise: time from the accounts' commit until the API shows it
    (`catch_up`, as the sweep / read path does), and one edited enterprise-month likewise.

Environment: CECP_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/cecp_bench_monitoring; created and dropped),
CECP_BENCH_SCALE (fraction of 100,000 enterprises, default 1).
Run: `.venv/bin/python benchmarks/bench_monitoring.py`.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

from benchmarks import pgdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cecp_bench_monitoring"
FULL = 100_000
MONTHS = 36
FIRST_YEAR = 2023
FUELS = [("natural_gas", "10^4 Nm3", 21.62, 12.143, 40), ("raw_coal", "t", 1.9, 0.7143, 900),
         ("diesel", "t", 3.1, 1.4571, 8), ("heat", "GJ", 0.11, 0.03412, 3000)]
ACC_COLS = ("id", "enterprise_id", "year", "month", "period", "region_code", "industry_code",
            "energy_tce", "co2_total", "co2_combustion", "co2_process", "co2_electricity",
            "co2_heat", "co2_electricity_exported", "co2_heat_exported", "co2_biomass",
            "electricity_mwh", "gross_output", "value_added", "version", "is_current",
            "method", "computed_at")
LINE_COLS = ("account_id", "position", "item", "flow", "bucket", "sign", "amount",
             "unit", "parameter_origin", "co2", "tce")


class Gen:
    """Deterministic accounts and lines; ids continue across calls (new month later)."""

    def __init__(self, n_ent: int, counties: list[str], industries: list[str]):
        rng = random.Random(5)
        self.n = n_ent
        self.ent = [(counties[rng.randrange(len(counties))],
                     industries[rng.randrange(len(industries))], rng.lognormvariate(0, 0.6),
                     rng.randrange(len(FUELS))) for _ in range(n_ent)]
        self.acc_id = 0

    def rows(self, periods: list[int], version: int = 1):
        accs, lines = [], []
        for p in periods:
            y, m = divmod(p, 100)
            season = 1 + 0.08 * ((m in (7, 8)) - (m in (1, 2)))
            for i, (region, ind, size, fuel) in enumerate(self.ent, start=1):
                self.acc_id += 1
                mwh = round(900 * size * season, 3)
                item, unit, ef, tf, base = FUELS[fuel]
                amt = round(base * size * season, 3)
                e_co2, e_tce = round(mwh * 0.5703, 6), round(mwh * 0.1229, 6)
                f_co2, f_tce = round(amt * ef, 6), round(amt * tf, 6)
                heat = item == "heat"
                va = round(700 * size * (1 + 0.01 * m), 2)
                accs.append((self.acc_id, i, y, m, p, region, ind, round(e_tce + f_tce, 6),
                             round(e_co2 + f_co2, 6), 0 if heat else f_co2, 0, e_co2,
                             f_co2 if heat else 0, 0, 0, 0, mwh, round(va * 3, 2), va, version,
                             "t", "set", "2026-01-01 00:00:00"))
                lines.append((self.acc_id, 0, "electricity", "purchased",
                               "electricity", 1, mwh, "MWh", "library", e_co2, e_tce))
                lines.append((self.acc_id, 1, item,
                               "purchased" if heat else "consumed",
                               "heat" if heat else "combustion", 1, amt, unit, "library",
                               f_co2, f_tce))
        return accs, lines


def _load(gen: Gen, periods: list[int]) -> tuple[int, float]:
    from app.extensions import db

    t0 = time.perf_counter()
    raw = db.engine.raw_connection()
    conn = raw.driver_connection
    n = 0
    for p in periods:  # a month at a time keeps memory flat
        accs, lines = gen.rows([p])
        n += pgdb.copy_rows(conn, "carbon_account", ACC_COLS, accs)
        pgdb.copy_rows(conn, "carbon_account_line", LINE_COLS, lines)
    with conn.cursor() as cur:
        cur.execute("SELECT setval(pg_get_serial_sequence('carbon_account', 'id'), "
                    "(SELECT max(id) FROM carbon_account))")
        for table in ("carbon_account", "carbon_account_line"):
            cur.execute(f"ANALYZE {table}")
    conn.commit()
    raw.close()
    return n, time.perf_counter() - t0


def _enterprises(n_ent: int) -> tuple[list[str], list[str]]:
    from sqlalchemy import select

    from app.extensions import db
    from app.orgs.models import Industry, Region
    from app.refdata.uscc import make_uscc

    counties = list(db.session.scalars(select(Region.code).where(Region.level == "county")))
    industries = list(db.session.scalars(select(Industry.code).where(
        Industry.level == "class", Industry.code < "4500")))
    gen = Gen(n_ent, counties, industries)
    raw = db.engine.raw_connection()
    pgdb.copy_rows(raw.driver_connection, "enterprise",
          ("id", "uid", "uscc", "name", "region_code", "industry_code", "scale", "key_emitter",
           "active", "created_at", "updated_at"),
          ((i, f"{i:032x}", make_uscc(f"91{r[:4]}00B{i:08d}"), f"基准企业{i}", r, ind, "规上",
            "f", "t", "2025-01-01", "2025-01-01")
           for i, (r, ind, _, _) in enumerate(gen.ent, start=1)))
    raw.driver_connection.execute("ANALYZE enterprise")
    raw.commit()
    raw.close()
    return gen, counties


def _token(client) -> dict:
    from flask import current_app

    from app.extensions import db
    from app.identity import service as accounts

    user = accounts.create(email="bench@bench.cecp", password="Bench#Pass2026long",
                           roles=["admin"], scopes=[], check_policy=False)
    security = current_app.extensions["security"]
    user.tf_totp_secret = security._totp_factory.generate_totp_secret()
    user.tf_primary_method = "authenticator"
    db.session.commit()
    r = client.post("/api/v1/auth/token", json={
        "email": user.email, "password": "Bench#Pass2026long",
        "code": security._totp_factory.generate_totp_password(user.tf_totp_secret)})
    assert r.status_code == 200, r.get_json()
    return {"Authentication-Token": r.get_json()["token"]}


def _p95(fn, runs: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)


def _raw_series(year: int) -> None:
    from sqlalchemy import text

    from app.extensions import db

    db.session.execute(text(
        "SELECT period, sum(co2_total), sum(energy_tce) FROM carbon_account "
        "WHERE is_current AND region_code LIKE '33%' AND year BETWEEN :a AND :b "
        "GROUP BY period ORDER BY period"), {"a": year - 1, "b": year}).all()
    db.session.rollback()


def run() -> list[dict]:
    scale = float(os.environ.get("CECP_BENCH_SCALE", "1"))
    url = os.environ.get("CECP_BENCH_DATABASE_URL", DEFAULT_URL)
    n_ent = max(50, int(FULL * scale))
    runs = int(os.environ.get("CECP_BENCH_RUNS", "40"))
    pgdb.recreate(url)
    os.environ.setdefault("CECP_MASTER_KEY", "00112233445566778899aabbccddeeff")
    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CECP_REDIS_URL": None, "TESTING": True,
                      "WTF_CSRF_ENABLED": False})

    def _fresh_request_globals():
        # the benchmark holds one app context around the test client, which Flask then
        # reuses for every request: clear `g` as a new request would (as tests/conftest.py)
        from flask import g

        for key in list(vars(g)):
            g.pop(key, None)

    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    periods = [(FIRST_YEAR + k // 12) * 100 + k % 12 + 1 for k in range(MONTHS)]
    year = periods[-1] // 100
    try:
        with app.app_context():
            from app.energy.service import load_reference as load_energy
            from app.identity.service import ensure_roles
            from app.monitoring import facts
            from app.orgs.reference import load_reference

            db.create_all()
            load_reference()
            load_energy()
            ensure_roles()
            db.session.commit()
            gen, _ = _enterprises(n_ent)
            n_acc, t_load = _load(gen, periods)
            t0 = time.perf_counter()
            n_facts = facts.refresh_facts()
            db.session.commit()
            db.session.execute(db.text("ANALYZE monitoring_fact"))
            db.session.execute(db.text("ANALYZE monitoring_cube"))
            db.session.commit()
            t_build = time.perf_counter() - t0
            client = app.test_client()
            headers = _token(client)

            def get(path: str) -> dict:
                r = client.get(path, headers=headers)
                assert r.status_code == 200, r.get_json()
                return r.get_json()

            region_q = f"/api/v1/monitoring/region?region=330000&year={year}&month=12"
            industry_q = f"/api/v1/monitoring/industry?region=330000&year={year}&month=12"
            p_region = _p95(lambda: get(region_q), runs)
            p_industry = _p95(lambda: get(industry_q), runs)
            p_raw = _p95(lambda: _raw_series(year), max(10, runs // 4))
            # a new month for every enterprise, as accounting's bulk writer would commit it
            new_period = (year + 1) * 100 + 1
            _load(gen, [new_period])
            t_loaded = time.perf_counter()
            facts.catch_up()
            db.session.commit()
            body = get(f"/api/v1/monitoring/region?region=330000&year={year + 1}&month=1")
            t_visible = time.perf_counter() - t_loaded
            assert body["summary"]["co2"], "new month not visible"
            # one enterprise-month edited: a new version row, then a page read folds it in
            db.session.execute(db.text(
                "UPDATE carbon_account SET is_current = false WHERE enterprise_id = 1 "
                "AND period = :p"), {"p": new_period})
            accs, lines = gen.rows([new_period], version=2)
            raw = db.engine.raw_connection()
            db.session.commit()
            pgdb.copy_rows(raw.driver_connection, "carbon_account", ACC_COLS, accs[:1])
            pgdb.copy_rows(raw.driver_connection, "carbon_account_line", LINE_COLS, lines[:2])
            raw.commit()
            raw.close()
            t1 = time.perf_counter()
            get(f"/api/v1/monitoring/region?region=330000&year={year + 1}&month=1")
            t_edit = (time.perf_counter() - t1) * 1000
            assert facts.pending() == 0
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        pgdb.recreate(url, drop_only=True)
    note = (f"{n_ent:,} enterprises x {MONTHS} months = {n_acc:,} accounts, {2 * n_acc:,} "
            f"lines (COPY {t_load:.0f} s, not counted); {n_facts:,} fact rows")
    return [
        {"measure": "p95 GET /monitoring/region, province, month (goal <= 200 ms)",
         "value": p_region, "unit": "ms", "baseline": "monthly series only, from raw accounts",
         "baseline_value": p_raw, "note": f"{runs} runs; full view: series, YoY/MoM, ranking, "
                                          f"energy mix, sectors, industries; {note}"},
        {"measure": "p95 GET /monitoring/industry, province, month (goal <= 200 ms)",
         "value": p_industry, "unit": "ms", "baseline": "monthly series only, from raw accounts",
         "baseline_value": p_raw, "note": "divisions, sectors, intensity trend, code grades"},
        {"measure": "build all monitoring facts from scratch", "value": t_build, "unit": "s",
         "baseline": None, "baseline_value": None, "note": "refresh_facts(): facts + cube"},
        {"measure": "new month for every enterprise -> visible in the API", "value": t_visible,
         "unit": "s", "baseline": None, "baseline_value": None,
         "note": f"{n_ent:,} accounts committed, then catch_up + first API read "
                 "(goal R-8.6: <= 15 min, aim < 1 min)"},
        {"measure": "one edited enterprise-month -> visible (page read folds it in)",
         "value": t_edit, "unit": "ms", "baseline": "p95 region API, nothing pending",
         "baseline_value": p_region, "note": "ensure_fresh on the read path"},
    ]


def main() -> None:
    rows = run()
    print(f"{'measure':<66} {'value':>10} {'unit':<4} {'baseline':>10}  note")
    for r in rows:
        base = "" if r["baseline_value"] is None else f"{r['baseline_value']:.2f}"
        print(f"{r['measure']:<66} {r['value']:>10.2f} {r['unit']:<4} {base:>10}  {r['note']}")


if __name__ == "__main__":
    main()
