"""Set-based accounting on PostgreSQL: INSERT ... SELECT computes every selected
enterprise-month with the same rules and rounding as `engine.py` (tests hold them equal).

How a run goes (`_run`, on a Session or a Connection, in its transaction):

0. frozen months (current version published / verified) are left out of the selection and
   marked `pending_reason` (audited once): a batch never rewrites them;
1. `acc_sel` (temp): the selected records with their new account ids, taken from the
   `carbon_account` sequence in record id order, and their new version numbers;
2. the factor version of every item for each (month, city prefix), resolved in Python once
   by the dated rule of `app.energy.resolve` (the same call as the per-row engine),
   with the per-factor part of each term (NCV x CC x OF x 44, the stored EF) computed
   once per factor instead of once per line;
3. the current versions are retired (`is_current = false`; they stay as history);
4. per chunk of at most CHUNK_ROWS consecutive records (bounded memory; their energy lines
   are one index range, so a province run reads `energy_line` once, not once per month):
   one statement inserts the derivation lines and, from the inserted rows (`RETURNING`),
   the monthly facts. Each line term is evaluated once (`OFFSET 0` fences stop the planner
   from re-expanding expressions), in exact numeric throughout.

The bulk session raises `work_mem` for its own transaction (`SET LOCAL`, restored after),
so the aggregates never spill; the batch mode also sets `synchronous_commit = off` on its
own connections only (a crash can lose a just-finished batch chunk, never corrupt it).

Readers that need to follow changes subscribe to `app.accounting.hooks`
(AFTER_ACCOUNTS_CHANGED, called in the writing transaction); see there why an
`id > watermark` sweep over `carbon_account` is not a safe signal on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import func, select, text

from app.accounting import engine, hooks
from app.accounting.pgsession import bulk_settings
from app.energy import service as energy
from app.extensions import db

CHUNK_ROWS = 120_000   # enterprise-months per statement (~0.25 GB of work memory)

_BUCKET = """
  CASE WHEN l.flow = 'process' THEN 'process'
       WHEN l.flow = 'consumed' AND et.category = 'biomass' THEN 'biomass'
       WHEN l.flow = 'consumed' AND et.category IN ('coal','oil','gas','other') THEN 'combustion'
       WHEN et.category = 'electricity' AND l.flow = 'purchased' THEN 'electricity'
       WHEN et.category = 'electricity' AND l.flow = 'exported' THEN 'electricity_exported'
       WHEN et.category = 'electricity' AND l.flow = 'self_generated' THEN 'renewable'
       WHEN et.category = 'heat' AND l.flow = 'purchased' THEN 'heat'
       WHEN et.category = 'heat' AND l.flow = 'exported' THEN 'heat_exported' END"""

# Per line: (amount x NCV x CC x OF x 44) / 12, with the library's NCV x CC x OF x 44 taken
# from acc_fmap.k44 unless the line has measured parameters (the same exact numeric product).
# Only buckets combustion / biomass ("fuel") have that form; only "renewable" has sign 0.
_INTENSITY = engine.half_up("total", "value_added", 6)
_PER_OUTPUT = engine.half_up("tce", "gross_output", 6)
COMPUTE_SQL = f"""
WITH ins AS (
  INSERT INTO carbon_account_line (account_id, position, item, flow, bucket, sign, amount,
      unit, ncv, carbon_content, oxidation_rate, ef, factor_id, factor_version,
      parameter_origin, co2, tce)
  SELECT account_id, position, item, flow, bucket, sign, amount, unit,
    CASE WHEN fuel THEN ncv END, CASE WHEN fuel THEN cc END, CASE WHEN fuel THEN ofr END,
    CASE WHEN fuel THEN CASE WHEN measured THEN round(k44 / 12, 10) ELSE efk END
         WHEN sign = 0 THEN 0
         WHEN given THEN round(val, 10) ELSE efv END,
    factor_id, factor_version,
    CASE WHEN fuel AND measured
           THEN CASE WHEN factor_id IS NULL THEN 'measured' ELSE 'measured+library' END
         WHEN NOT fuel AND sign <> 0 AND given THEN 'given'
         ELSE 'library' END,
    CASE WHEN fuel THEN round(amount * k44 / 12, 6)
         WHEN sign = 0 THEN 0
         WHEN sign < 0 THEN -round(amount * val, 6)
         ELSE round(amount * val, 6) END,
    CASE WHEN tce_factor IS NULL OR sign = 0 THEN 0
         WHEN sign < 0 THEN -round(amount * tce_factor, 6)
         ELSE round(amount * tce_factor, 6) END
  FROM (
    SELECT s.account_id, l.position, l.item, l.flow, {_BUCKET} AS bucket, l.amount, l.unit,
      l.flow = 'consumed' AND et.category IN ('coal','oil','gas','other','biomass') AS fuel,
      CASE WHEN l.flow = 'exported' AND et.category IN ('electricity','heat') THEN -1
           WHEN l.flow = 'self_generated' AND et.category = 'electricity' THEN 0
           ELSE 1 END AS sign,
      COALESCE(l.ncv, f.ncv) AS ncv, COALESCE(l.carbon_content, f.cc) AS cc,
      COALESCE(l.oxidation_rate, f.ofr) AS ofr, COALESCE(l.factor_value, f.value) AS val,
      CASE WHEN l.ncv IS NULL AND l.carbon_content IS NULL AND l.oxidation_rate IS NULL
           THEN f.k44
           ELSE COALESCE(l.ncv, f.ncv) * COALESCE(l.carbon_content, f.cc)
                * COALESCE(l.oxidation_rate, f.ofr) * 44 END AS k44,
      f.efk, f.efv, f.factor_id, f.factor_version, et.tce_factor,
      (l.ncv IS NOT NULL OR l.carbon_content IS NOT NULL OR l.oxidation_rate IS NOT NULL)
        AS measured,
      l.factor_value IS NOT NULL AS given
    FROM acc_cur s
    JOIN energy_line l ON l.record_id = s.record_id AND l.record_id BETWEEN :rlo AND :rhi
    LEFT JOIN energy_type et ON et.code = l.item AND l.flow <> 'process'
    LEFT JOIN acc_fmap f ON f.period = s.period AND f.r4 = s.r4 AND f.item = l.item
    OFFSET 0) b
  RETURNING account_id, bucket, co2, tce, amount
), agg AS (
  SELECT account_id,
    COALESCE(sum(abs(co2)) FILTER (WHERE bucket = 'combustion'), 0) AS comb,
    COALESCE(sum(abs(co2)) FILTER (WHERE bucket = 'process'), 0) AS proc,
    COALESCE(sum(abs(co2)) FILTER (WHERE bucket = 'electricity'), 0) AS elec,
    COALESCE(sum(abs(co2)) FILTER (WHERE bucket = 'heat'), 0) AS heat,
    COALESCE(sum(abs(co2)) FILTER (WHERE bucket = 'electricity_exported'), 0) AS elec_x,
    COALESCE(sum(abs(co2)) FILTER (WHERE bucket = 'heat_exported'), 0) AS heat_x,
    COALESCE(sum(abs(co2)) FILTER (WHERE bucket = 'biomass'), 0) AS bio,
    sum(tce) AS tce,
    COALESCE(sum(CASE bucket WHEN 'electricity' THEN amount
                             WHEN 'electricity_exported' THEN -amount END), 0) AS mwh
  FROM ins GROUP BY account_id
)
INSERT INTO carbon_account (id, enterprise_id, year, month, period, region_code,
    industry_code, record_id, record_revision, energy_tce, co2_total, co2_combustion,
    co2_process, co2_electricity, co2_heat, co2_electricity_exported, co2_heat_exported,
    co2_biomass, electricity_mwh, gross_output, value_added, intensity, energy_per_output,
    version, is_current, method, reason, computed_at)
SELECT account_id, enterprise_id, year, month, period, region_code, industry_code,
       record_id, revision, tce, total, comb, proc, elec, heat, elec_x, heat_x, bio, mwh,
       gross_output, value_added,
       CASE WHEN value_added > 0 THEN {_INTENSITY} END,
       CASE WHEN gross_output > 0 THEN {_PER_OUTPUT} END,
       version, true, 'set', :reason, now() AT TIME ZONE 'utc'
FROM (
  SELECT s.*, COALESCE(a.comb, 0) comb, COALESCE(a.proc, 0) proc, COALESCE(a.elec, 0) elec,
         COALESCE(a.heat, 0) heat, COALESCE(a.elec_x, 0) elec_x, COALESCE(a.heat_x, 0) heat_x,
         COALESCE(a.bio, 0) bio, COALESCE(a.tce, 0) tce, COALESCE(a.mwh, 0) mwh,
         COALESCE(a.comb, 0) + COALESCE(a.proc, 0) + COALESCE(a.elec, 0) + COALESCE(a.heat, 0)
           - COALESCE(a.elec_x, 0) - COALESCE(a.heat_x, 0) AS total
  FROM acc_cur s LEFT JOIN agg a ON a.account_id = s.account_id
  OFFSET 0) tot
"""

VERSION_SQL = """
UPDATE acc_sel s SET version = v.version + 1
FROM (SELECT a.enterprise_id, a.period, max(a.version) AS version
      FROM carbon_account a
      JOIN acc_sel x ON x.enterprise_id = a.enterprise_id AND x.period = a.period
      GROUP BY a.enterprise_id, a.period) v
WHERE v.enterprise_id = s.enterprise_id AND v.period = s.period"""

RETIRE_SQL = """
UPDATE carbon_account a SET is_current = false FROM acc_sel s
WHERE a.enterprise_id = s.enterprise_id AND a.period = s.period AND a.is_current"""


def _select_sql(where: str, seq: str) -> str:
    return f"""
CREATE TEMP TABLE acc_sel ON COMMIT DROP AS
SELECT q.*, nextval('{seq}'::regclass) AS account_id, 1 AS version
FROM (SELECT r.id AS record_id, r.enterprise_id, r.year, r.month, r.period, r.revision,
             r.gross_output, r.value_added, e.region_code, e.industry_code,
             substr(e.region_code, 1, 4) AS r4
      FROM energy_record r
      JOIN enterprise e ON e.id = r.enterprise_id
      WHERE {where} AND NOT EXISTS (
        SELECT 1 FROM carbon_account fa WHERE fa.enterprise_id = r.enterprise_id
          AND fa.period = r.period AND fa.is_current AND fa.status <> 'open')
      ORDER BY r.id OFFSET 0) q
"""


def _pending_sql(where: str) -> str:
    """Frozen current versions among the selection: not rewritten, marked as pending."""
    return f"""
UPDATE carbon_account a SET pending_reason = :reason
FROM energy_record r
WHERE {where} AND a.enterprise_id = r.enterprise_id AND a.period = r.period
  AND a.is_current AND a.status <> 'open'
RETURNING a.enterprise_id, a.period"""


def compute_accounts(*, record_ids: Iterable[int] | None = None,
                     periods: Iterable[int] | None = None,
                     enterprise_ids: Iterable[int] | None = None,
                     reason: str = "批量核算") -> int:
    """Compute (a new version of) the accounts of the selected records, set-based, in the
    caller's transaction. With no selector, every record. Returns enterprise-months written.
    Calls `hooks.AFTER_ACCOUNTS_CHANGED` once, in the same transaction."""
    s = db.session
    if s.get_bind().dialect.name != "postgresql":
        return _fallback(record_ids, periods, enterprise_ids, reason)
    where, params = _where(record_ids, periods, enterprise_ids)
    with bulk_settings(s):
        n, ents, pers, frozen = _run(s, where, params, reason, None)
    if n:
        by_ent = record_ids is not None or enterprise_ids is not None
        hooks.accounts_changed(ents if by_ent else None, pers)
    _audit(n, reason, frozen)
    return n


def _where(record_ids, periods, enterprise_ids) -> tuple[str, dict]:
    where, params = ["true"], {}
    if record_ids is not None:
        where.append("r.id = ANY(:ids)")
        params["ids"] = list(record_ids)
    if periods is not None:
        where.append("r.period = ANY(:periods)")
        params["periods"] = list(periods)
    if enterprise_ids is not None:
        where.append("r.enterprise_id = ANY(:ents)")
        params["ents"] = list(enterprise_ids)
    return " AND ".join(where), params


def _audit(n: int, reason: str, frozen: list[tuple[int, int]]) -> None:
    from app.accounting.service import audit_frozen
    from app.audit.service import record as audit

    if n:
        audit("accounting.compute", object_type="carbon_account",
              summary={"enterprise_months": n, "method": "set", "reason": reason})
    audit_frozen(frozen, reason)


def compute_accounts_parallel(*, periods: list[int], workers: int = 2,
                              enterprise_ids: Iterable[int] | None = None,
                              reason: str = "批量核算") -> int:
    """Province-wide batch: the selected records split by id range over `workers`
    connections, each slice in its own transaction (atomic per slice). Slice i takes its
    account ids after slice i-1 and commits after it, so the batch never commits a lower id
    after a higher one; once a slice fails, the slices not yet committed roll back. Each
    slice calls the hooks on its own session, inside its transaction. For `cecp` batch runs
    and jobs outside a request; PostgreSQL only."""
    from concurrent.futures import ThreadPoolExecutor

    app = current_app._get_current_object()
    ents = None if enterprise_ids is None else sorted(set(enterprise_ids))
    where, params = _where(None, list(periods), ents)
    fracs = [i / workers for i in range(1, workers)]
    cuts = db.session.execute(text(
        "SELECT percentile_disc(CAST(:f AS float8[])) WITHIN GROUP (ORDER BY r.id) "
        f"FROM energy_record r WHERE {where}"), {**params, "f": fracs}).scalar() \
        if fracs else None
    bounds = [None, *(cuts or []), None]      # slice i: bounds[i] < id <= bounds[i + 1]
    fmap = factor_rows(sorted(set(periods)))
    n_slices = len(bounds) - 1
    allocated = [threading.Event() for _ in range(n_slices + 1)]
    done = [threading.Event() for _ in range(n_slices + 1)]
    allocated[0].set()
    done[0].set()
    failed = threading.Event()
    jobs: list[bool] = []
    frozen: list[tuple[int, int]] = []

    def work(i: int) -> int:
        w, p = where, dict(params)
        if bounds[i] is not None:
            w, p["lo"] = w + " AND r.id > :lo", bounds[i]
        if bounds[i + 1] is not None:
            w, p["hi"] = w + " AND r.id <= :hi", bounds[i + 1]
        with app.app_context():
            s = db.session
            try:
                with bulk_settings(s, own_transaction=True):
                    n, changed_ents, pers, skipped = _run(
                        s, w, p, reason, fmap, order=(allocated[i], allocated[i + 1]))
                frozen.extend(skipped)
                if n:
                    hooks.accounts_changed(changed_ents, pers)
                done[i].wait()           # every slice with lower ids has committed
                if failed.is_set():
                    raise RuntimeError("并行核算的另一批次失败，本批次已回滚")
                s.commit()
                jobs.append(bool(s.info.pop("cecp_jobs", False)))
                return n
            except BaseException:
                failed.set()
                s.rollback()
                raise
            finally:
                allocated[i + 1].set()
                done[i + 1].set()

    with ThreadPoolExecutor(max_workers=n_slices) as pool:
        futures = [pool.submit(work, i) for i in range(n_slices)]
        n = sum(f.result() for f in futures)
    if any(jobs):
        db.session.info["cecp_jobs"] = True   # the caller's commit dispatches them
    _audit(n, reason, frozen)  # in the caller's transaction
    return n


def _run(s, where: str, params: dict, reason: str, fmap: list[dict] | None, *,
         order: tuple | None = None) -> tuple[int, set[int], set[int], list]:
    """The set-based statements on `s` (a Session or a Connection). Returns the count, the
    enterprise ids and the periods written, and the frozen (enterprise, period) skipped.
    `order` = (previous slice has its ids, this slice has its ids): events ordering the id
    ranges of a parallel batch."""
    s.execute(text("DROP TABLE IF EXISTS acc_sel; DROP TABLE IF EXISTS acc_fmap; "
                   "DROP TABLE IF EXISTS acc_cur"))
    frozen = [tuple(r) for r in s.execute(text(_pending_sql(where)),
                                          {**params, "reason": reason[:200]})]
    seq = s.execute(text("SELECT pg_get_serial_sequence('carbon_account', 'id')")).scalar_one()
    if order is not None:
        order[0].wait()
    try:
        s.execute(text(_select_sql(where, seq.replace("'", "''"))), params)
    finally:
        if order is not None:
            order[1].set()
    chunks = s.execute(text(
        "SELECT min(account_id), max(account_id), min(record_id), max(record_id) "
        "FROM (SELECT account_id, record_id, "
        "             (row_number() OVER (ORDER BY account_id) - 1) / :c AS k FROM acc_sel) x "
        "GROUP BY k ORDER BY k"), {"c": CHUNK_ROWS}).all()
    if not chunks:
        return 0, set(), set(), frozen
    s.execute(text("ANALYZE acc_sel"))
    n, pers = s.execute(text(
        "SELECT count(*), array_agg(DISTINCT period) FROM acc_sel")).one()
    s.execute(text(VERSION_SQL))
    ents = {e for (e,) in s.execute(text("SELECT DISTINCT enterprise_id FROM acc_sel"))}
    _factor_table(s, fmap if fmap is not None else factor_rows(sorted(pers)))
    s.execute(text(RETIRE_SQL))
    for lo, hi, rlo, rhi in chunks:
        s.execute(text("CREATE TEMP TABLE acc_cur ON COMMIT DROP AS "
                       "SELECT * FROM acc_sel WHERE account_id BETWEEN :lo AND :hi"),
                  {"lo": lo, "hi": hi})
        s.execute(text(COMPUTE_SQL), {"reason": reason[:200], "rlo": rlo, "rhi": rhi})
        s.execute(text("DROP TABLE acc_cur"))
    s.execute(text("DROP TABLE IF EXISTS acc_sel; DROP TABLE IF EXISTS acc_fmap"))
    return n, ents, set(pers), frozen


def _factor_table(s, fmap: list[dict]) -> None:
    """acc_fmap: the factor rows with their per-factor terms (exact numeric, as per line)."""
    s.execute(text("""CREATE TEMP TABLE acc_fmap (period int, r4 text, item text,
                      factor_id int, factor_version int, ncv numeric, cc numeric,
                      ofr numeric, value numeric, k44 numeric, efk numeric,
                      efv numeric) ON COMMIT DROP"""))
    if fmap:
        s.execute(text("""INSERT INTO acc_fmap VALUES (:period, :r4, :item, :fid, :fv, :ncv,
                          :cc, :ofr, :value)"""), fmap)
    s.execute(text("UPDATE acc_fmap SET k44 = ncv * cc * ofr * 44, "
                   "efk = round(ncv * cc * ofr * 44 / 12, 10), efv = round(value, 10)"))
    s.execute(text("ANALYZE acc_fmap"))


def factor_rows(periods: Iterable[int]) -> list[dict]:
    """The factor version of every item for each (month, city prefix) where enterprises
    are, resolved by `energy.resolve` exactly as the per-row engine resolves it."""
    from app.orgs.models import Enterprise

    prefixes = [p for (p,) in db.session.execute(
        select(func.substr(Enterprise.region_code, 1, 4)).distinct())]
    rows = []
    cache: dict = {}
    for period in periods:
        year, month = divmod(int(period), 100)
        for r4 in prefixes:
            resolved = energy.resolve(year=year, month=month, region_code=r4 + "00",
                                      cache=cache)
            for item, f in resolved.factors.items():
                rows.append({"period": period, "r4": r4, "item": item, "fid": f.id,
                             "fv": f.version, "ncv": f.ncv, "cc": f.carbon_content,
                             "ofr": f.oxidation_rate,
                             "value": f.value if f.kind != "combustion" else None})
    return rows


def _fallback(record_ids, periods, enterprise_ids, reason) -> int:
    """Other databases: the per-row engine over the same selection (one hook call)."""
    from app.accounting import service
    from app.energy.models import EnergyRecord

    stmt = select(EnergyRecord)
    if record_ids is not None:
        stmt = stmt.where(EnergyRecord.id.in_(list(record_ids)))
    if periods is not None:
        stmt = stmt.where(EnergyRecord.period.in_(list(periods)))
    if enterprise_ids is not None:
        stmt = stmt.where(EnergyRecord.enterprise_id.in_(list(enterprise_ids)))
    records = list(db.session.scalars(stmt))
    service.compute_many(records, reason)
    return len(records)
