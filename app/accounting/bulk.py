"""Set-based accounting on PostgreSQL: one INSERT ... SELECT computes every selected
enterprise-month with the same rules and rounding as `engine.py` (tests hold them equal).

The factor versions that apply are resolved in Python once per (year, city prefix) into a
small temporary table; the lines are then computed, stored and summed in one statement
(data-modifying CTE), and the previous versions are kept as history.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, text

from app.energy import service as energy
from app.extensions import db

_BUCKET = """
  CASE WHEN l.flow = 'process' THEN 'process'
       WHEN l.flow = 'consumed' AND et.category = 'biomass' THEN 'biomass'
       WHEN l.flow = 'consumed' AND et.category IN ('coal','oil','gas','other') THEN 'combustion'
       WHEN et.category = 'electricity' AND l.flow = 'purchased' THEN 'electricity'
       WHEN et.category = 'electricity' AND l.flow = 'exported' THEN 'electricity_exported'
       WHEN et.category = 'electricity' AND l.flow = 'self_generated' THEN 'renewable'
       WHEN et.category = 'heat' AND l.flow = 'purchased' THEN 'heat'
       WHEN et.category = 'heat' AND l.flow = 'exported' THEN 'heat_exported' END"""

COMPUTE_SQL = f"""
WITH calc AS (
  SELECT s.account_id, l.position, l.item, l.flow, {_BUCKET} AS bucket, l.amount, l.unit,
         COALESCE(l.ncv, f.ncv) AS ncv, COALESCE(l.carbon_content, f.cc) AS cc,
         COALESCE(l.oxidation_rate, f.ofr) AS ofr, COALESCE(l.factor_value, f.value) AS val,
         f.factor_id, f.factor_version, et.tce_factor,
         (l.ncv IS NOT NULL OR l.carbon_content IS NOT NULL OR l.oxidation_rate IS NOT NULL)
           AS measured,
         l.factor_value IS NOT NULL AS given
  FROM acc_sel s
  JOIN energy_line l ON l.record_id = s.record_id
  LEFT JOIN energy_type et ON et.code = l.item AND l.flow <> 'process'
  LEFT JOIN acc_fmap f ON f.year = s.year AND f.r4 = s.r4 AND f.item = l.item
), terms AS (
  SELECT c.*,
    CASE c.bucket WHEN 'electricity_exported' THEN -1 WHEN 'heat_exported' THEN -1
                  WHEN 'renewable' THEN 0 ELSE 1 END AS sign,
    CASE WHEN c.bucket IN ('combustion','biomass')
           THEN round(c.amount * c.ncv * c.cc * c.ofr * 44 / 12, 6)
         WHEN c.bucket = 'renewable' THEN 0
         ELSE round(c.amount * c.val, 6) END AS mag,
    CASE WHEN c.bucket IN ('combustion','biomass') THEN round(c.ncv * c.cc * c.ofr * 44 / 12, 10)
         WHEN c.bucket = 'renewable' THEN 0 ELSE round(c.val, 10) END AS ef,
    CASE WHEN c.tce_factor IS NOT NULL AND c.bucket NOT IN ('renewable','process')
           THEN round(c.amount * c.tce_factor, 6) ELSE 0 END AS tmag,
    CASE WHEN c.bucket IN ('combustion','biomass') AND c.measured
           THEN CASE WHEN c.factor_id IS NULL THEN 'measured' ELSE 'measured+library' END
         WHEN c.bucket NOT IN ('combustion','biomass','renewable') AND c.given THEN 'given'
         ELSE 'library' END AS origin
  FROM calc c
), ins AS (
  INSERT INTO carbon_account_line (account_id, position, item, flow, bucket, sign, amount,
      unit, ncv, carbon_content, oxidation_rate, ef, factor_id, factor_version,
      parameter_origin, co2, tce)
  SELECT account_id, position, item, flow, bucket, sign, amount, unit,
         CASE WHEN bucket IN ('combustion','biomass') THEN ncv END,
         CASE WHEN bucket IN ('combustion','biomass') THEN cc END,
         CASE WHEN bucket IN ('combustion','biomass') THEN ofr END,
         ef, factor_id, factor_version, origin, sign * mag,
         CASE WHEN sign < 0 THEN -tmag ELSE tmag END
  FROM terms
), agg AS (
  SELECT account_id,
    COALESCE(sum(mag) FILTER (WHERE bucket = 'combustion'), 0) AS comb,
    COALESCE(sum(mag) FILTER (WHERE bucket = 'process'), 0) AS proc,
    COALESCE(sum(mag) FILTER (WHERE bucket = 'electricity'), 0) AS elec,
    COALESCE(sum(mag) FILTER (WHERE bucket = 'heat'), 0) AS heat,
    COALESCE(sum(mag) FILTER (WHERE bucket = 'electricity_exported'), 0) AS elec_x,
    COALESCE(sum(mag) FILTER (WHERE bucket = 'heat_exported'), 0) AS heat_x,
    COALESCE(sum(mag) FILTER (WHERE bucket = 'biomass'), 0) AS bio,
    sum(CASE WHEN sign < 0 THEN -tmag ELSE tmag END) AS tce,
    COALESCE(sum(CASE bucket WHEN 'electricity' THEN amount
                             WHEN 'electricity_exported' THEN -amount END), 0) AS mwh
  FROM terms GROUP BY account_id
), tot AS (
  SELECT s.*, COALESCE(a.comb, 0) comb, COALESCE(a.proc, 0) proc, COALESCE(a.elec, 0) elec,
         COALESCE(a.heat, 0) heat, COALESCE(a.elec_x, 0) elec_x, COALESCE(a.heat_x, 0) heat_x,
         COALESCE(a.bio, 0) bio, COALESCE(a.tce, 0) tce, COALESCE(a.mwh, 0) mwh,
         COALESCE(a.comb, 0) + COALESCE(a.proc, 0) + COALESCE(a.elec, 0) + COALESCE(a.heat, 0)
           - COALESCE(a.elec_x, 0) - COALESCE(a.heat_x, 0) AS total
  FROM acc_sel s LEFT JOIN agg a ON a.account_id = s.account_id
)
INSERT INTO carbon_account (id, enterprise_id, year, month, period, region_code,
    industry_code, record_id, record_revision, energy_tce, co2_total, co2_combustion,
    co2_process, co2_electricity, co2_heat, co2_electricity_exported, co2_heat_exported,
    co2_biomass, electricity_mwh, gross_output, value_added, intensity, energy_per_output,
    version, is_current, method, reason, computed_at)
SELECT account_id, enterprise_id, year, month, period, region_code, industry_code,
       record_id, revision, tce, total, comb, proc, elec, heat, elec_x, heat_x, bio, mwh,
       gross_output, value_added,
       CASE WHEN value_added > 0 THEN round(total / value_added, 6) END,
       CASE WHEN gross_output > 0 THEN round(tce / gross_output, 6) END,
       version, true, 'set', :reason, now() AT TIME ZONE 'utc'
FROM tot
"""


def _select_sql(where: str) -> str:
    return f"""
CREATE TEMP TABLE acc_sel ON COMMIT DROP AS
SELECT r.id AS record_id, r.enterprise_id, r.year, r.month, r.period, r.revision,
       r.gross_output, r.value_added, e.region_code, e.industry_code,
       substr(e.region_code, 1, 4) AS r4,
       nextval(pg_get_serial_sequence('carbon_account', 'id')) AS account_id,
       COALESCE(v.version, 0) + 1 AS version
FROM energy_record r
JOIN enterprise e ON e.id = r.enterprise_id
LEFT JOIN LATERAL (SELECT max(a.version) AS version FROM carbon_account a
                   WHERE a.enterprise_id = r.enterprise_id AND a.period = r.period) v ON true
WHERE {where}
"""


def compute_accounts(*, record_ids: Iterable[int] | None = None,
                     periods: Iterable[int] | None = None,
                     enterprise_ids: Iterable[int] | None = None,
                     reason: str = "批量核算") -> int:
    """Compute (a new version of) the accounts of the selected records, set-based, in the
    caller's transaction. With no selector, every record. Returns enterprise-months written."""
    s = db.session
    if s.get_bind().dialect.name != "postgresql":
        return _fallback(record_ids, periods, enterprise_ids, reason)
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
    n = _run(s, " AND ".join(where), params, reason, None)
    _audit(n, reason)
    return n


def _audit(n: int, reason: str) -> None:
    from app.audit.service import record as audit

    if n:
        audit("accounting.compute", object_type="carbon_account",
              summary={"enterprise_months": n, "method": "set", "reason": reason})


def compute_accounts_parallel(*, periods: list[int], workers: int = 2,
                              reason: str = "批量核算") -> int:
    """Province-wide batch: the periods split over `workers` connections, each chunk in its
    own transaction (atomic per chunk, not as a whole). For `cecp` batch runs and jobs
    outside a request; PostgreSQL only."""
    from concurrent.futures import ThreadPoolExecutor

    fmap = factor_rows(sorted({p // 100 for p in periods}))
    engine = db.engine
    chunks = [sorted(periods)[i::workers] for i in range(workers)]

    def work(chunk: list[int]) -> int:
        with engine.begin() as conn:
            return _run(conn, "r.period = ANY(:periods)", {"periods": chunk}, reason, fmap)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        n = sum(pool.map(work, [c for c in chunks if c]))
    _audit(n, reason)  # in the caller's transaction
    return n


def _run(s, where: str, params: dict, reason: str, fmap: list[dict] | None) -> int:
    """The set-based statements on `s` (a Session or a Connection)."""
    s.execute(text("DROP TABLE IF EXISTS acc_sel; DROP TABLE IF EXISTS acc_fmap"))
    s.execute(text(_select_sql(where)), params)
    n = s.execute(text("SELECT count(*) FROM acc_sel")).scalar_one()
    if not n:
        return 0
    s.execute(text("ANALYZE acc_sel"))
    if fmap is None:
        years = [y for (y,) in s.execute(text("SELECT DISTINCT year FROM acc_sel"))]
        fmap = factor_rows(years)
    s.execute(text("""CREATE TEMP TABLE acc_fmap (year int, r4 text, item text,
                      factor_id int, factor_version int, ncv numeric, cc numeric,
                      ofr numeric, value numeric) ON COMMIT DROP"""))
    if fmap:
        s.execute(text("""INSERT INTO acc_fmap VALUES (:year, :r4, :item, :fid, :fv, :ncv,
                          :cc, :ofr, :value)"""), fmap)
    s.execute(text("ANALYZE acc_fmap"))
    s.execute(text("""UPDATE carbon_account a SET is_current = false FROM acc_sel s
                      WHERE a.enterprise_id = s.enterprise_id AND a.period = s.period
                        AND a.is_current"""))
    s.execute(text(COMPUTE_SQL), {"reason": reason[:200]})
    s.execute(text("DROP TABLE IF EXISTS acc_sel; DROP TABLE IF EXISTS acc_fmap"))
    return n


def factor_rows(years: Iterable[int]) -> list[dict]:
    """The factor version of every item for each (year, city prefix) where enterprises are."""
    from app.orgs.models import Enterprise

    prefixes = [p for (p,) in db.session.execute(
        select(func.substr(Enterprise.region_code, 1, 4)).distinct())]
    rows = []
    cache: dict = {}
    for year in years:
        for r4 in prefixes:
            resolved = energy.resolve(year=year, region_code=r4 + "00", cache=cache)
            for item, f in resolved.factors.items():
                rows.append({"year": year, "r4": r4, "item": item, "fid": f.id,
                             "fv": f.version, "ncv": f.ncv, "cc": f.carbon_content,
                             "ofr": f.oxidation_rate,
                             "value": f.value if f.kind != "combustion" else None})
    return rows


def _fallback(record_ids, periods, enterprise_ids, reason) -> int:
    """Other databases: the per-row engine over the same selection."""
    from app.accounting import service
    from app.energy.models import EnergyRecord

    stmt = select(EnergyRecord)
    if record_ids is not None:
        stmt = stmt.where(EnergyRecord.id.in_(list(record_ids)))
    if periods is not None:
        stmt = stmt.where(EnergyRecord.period.in_(list(periods)))
    if enterprise_ids is not None:
        stmt = stmt.where(EnergyRecord.enterprise_id.in_(list(enterprise_ids)))
    cache: dict = {}
    n = 0
    for rec in db.session.scalars(stmt):
        service.compute(record=rec, reason=reason, cache=cache)
        n += 1
    return n
