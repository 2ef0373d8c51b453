"""Industry benchmarks and the carbon efficiency code (碳效码).

    benchmark = Σ CO2 / Σ value added of the industry in the comparison area (weighted)
    K = (enterprise CO2 / its value added) / benchmark

Grading schemes are data (`app/refdata/grading_schemes.json`); the comparison area
(`CECP_CODE_AREA_LEVEL`: province | city), the industry level (`CECP_CODE_INDUSTRY_LEVEL`:
division | group | class), the minimum number of peers (`CECP_CODE_MIN_PEERS`, default the
scheme's) and the period types issued (`CECP_CODE_PERIOD_TYPES`) are configuration.
Issuing is set-based on PostgreSQL (`_issue_set`) and per-row elsewhere (`_issue_rows`);
both give the same records.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from flask import current_app
from sqlalchemy import Integer, Numeric, and_, case, func, literal, select, text, update

from app.accounting import engine, hooks, periods
from app.accounting.code_tokens import qr_png, token_for, verify_token  # noqa: F401
from app.accounting.models import CarbonAccount, CarbonCode, IndustryBenchmark
from app.accounting.pgsession import bulk_settings
from app.extensions import db
from app.orgs.models import Enterprise

DEFAULT_SCHEMES = ("zj_carbon_efficiency_k", "zj_carbon_intensity_tiers")
INDUSTRY_LEN = {"division": 2, "group": 3, "class": 4}
R_NO_INDUSTRY = "未登记行业分类，无法确定行业基准"
R_NO_VA = "无工业增加值数据，无法计算碳效值"


def settings() -> dict:
    cfg = current_app.config
    return {
        "schemes": tuple(cfg.get("CECP_CODE_SCHEMES") or DEFAULT_SCHEMES),
        "area_level": cfg.get("CECP_CODE_AREA_LEVEL", "province"),
        "industry_level": cfg.get("CECP_CODE_INDUSTRY_LEVEL", "division"),
        "min_peers": cfg.get("CECP_CODE_MIN_PEERS"),
        "period_types": tuple(cfg.get("CECP_CODE_PERIOD_TYPES") or ("month", "year")),
    }


def schemes() -> dict:
    from app.refdata import load_grading_schemes

    return {s.id: s for s in load_grading_schemes()}


def scheme(scheme_id: str):
    return schemes()[scheme_id]


def area_of(region_code: str, level: str) -> str:
    return region_code[:2] + "0000" if level == "province" else region_code[:4] + "00"


def industry_of(code: str | None, level: str) -> str | None:
    if not code or not code[:2].isdigit():
        return None
    n = INDUSTRY_LEN[level]
    return code[:n] if len(code) >= n else None


def benchmark_for(*, enterprise: Enterprise, period_key: str | None = None,
                  year: int | None = None) -> IndustryBenchmark | None:
    """The current benchmark an enterprise is graded against: its industry at the configured
    level in its comparison area — the one the carbon efficiency code, the self-check and the
    year-end projection all use. By `period_key`, or (`year`) the year's, else the latest
    earlier year's. None without an industry or a benchmark."""
    cfg = settings()
    ind = industry_of(enterprise.industry_code, cfg["industry_level"])
    if ind is None or not enterprise.region_code:
        return None
    B = IndustryBenchmark
    stmt = select(B).where(B.area_code == area_of(enterprise.region_code, cfg["area_level"]),
                           B.industry_code == ind, B.industry_level == cfg["industry_level"],
                           B.is_current.is_(True))
    if period_key is not None:
        stmt = stmt.where(B.period_key == period_key)
    else:
        stmt = stmt.where(B.period_type == "year", B.year <= year).order_by(B.year.desc())
    return db.session.scalar(stmt.limit(1))


def reason_few_peers(min_peers: int, n: int) -> str:
    return f"行业可比企业不足 {min_peers} 家（现有 {n} 家）"


def period_keys(months: list[int], types: tuple[str, ...]) -> list[periods.Period]:
    out = {periods.containing(t, m) for m in months for t in types}
    return sorted(out, key=lambda p: (p.year, p.type, p.index))


def issue(*, periods: list[int] | None = None,
          keys: list[periods.Period] | None = None, method: str | None = None) -> int:
    """(Re-)issue benchmarks and codes for the periods containing these months (yyyymm),
    or for explicit period `keys`, in the caller's transaction. Returns code records."""
    cfg = settings()
    if keys is None:
        keys = period_keys(list(periods or []), cfg["period_types"])
    if not keys:
        return 0
    if method is None:
        method = "set" if db.session.get_bind().dialect.name == "postgresql" else "row"
    _retire(db.session, keys, cfg)
    if method == "set":
        s = db.session
        with bulk_settings(s):
            n = _issue_set(s, keys, cfg, schemes(), hooks.estimated_co2_sql())
    else:
        n = _issue_rows(keys, cfg)
    _audit(keys, n, cfg)
    return n


def _audit(keys: list[periods.Period], n: int, cfg: dict) -> None:
    from app.audit.service import record as audit

    audit("carbon_code.issue", object_type="carbon_code",
          summary={"periods": [p.key for p in keys][:60], "records": n,
                   "schemes": list(cfg["schemes"]), "area_level": cfg["area_level"],
                   "industry_level": cfg["industry_level"]})


def issue_parallel(*, periods: list[int], workers: int = 2) -> int:
    """Province-wide batch on PostgreSQL: period keys split over `workers` connections,
    each chunk in its own transaction."""
    from concurrent.futures import ThreadPoolExecutor

    cfg = settings()
    keys = period_keys(list(periods), cfg["period_types"])
    all_schemes = schemes()
    est = hooks.estimated_co2_sql()  # here: the workers have no application context
    engine = db.engine
    # longest first, then round-robin: a year weighs twelve months
    keys.sort(key=lambda p: -(p.last - p.first))
    chunks = [keys[i::workers] for i in range(workers)]

    def work(chunk: list[periods.Period]) -> int:
        with engine.begin() as conn, bulk_settings(conn, own_transaction=True):
            _retire(conn, chunk, cfg)
            return _issue_set(conn, chunk, cfg, all_schemes, est)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        n = sum(pool.map(work, [c for c in chunks if c]))
    _audit(keys, n, cfg)  # in the caller's transaction
    return n


def _retire(s, keys: list[periods.Period], cfg: dict) -> None:
    keyset = [p.key for p in keys]
    s.execute(update(IndustryBenchmark).where(
        IndustryBenchmark.period_key.in_(keyset),
        IndustryBenchmark.industry_level == cfg["industry_level"],
        IndustryBenchmark.is_current.is_(True)).values(is_current=False))
    s.execute(update(CarbonCode).where(
        CarbonCode.period_key.in_(keyset), CarbonCode.scheme_id.in_(cfg["schemes"]),
        CarbonCode.is_current.is_(True)).values(is_current=False))


# ------------------------------------------------------------------ per-row path


def _estimates():
    """The included estimates as a subquery (enterprise_id, period, co2), or None."""
    sql = hooks.estimated_co2_sql()
    if sql is None:
        return None
    return text(sql).columns(enterprise_id=Integer, period=Integer,
                             co2=Numeric(20, 6)).subquery("est")


def _aggregates(p: periods.Period) -> list:
    """Per enterprise: region, industry, CO2 (an included estimate standing in for a
    month's account), value added, and how many months were estimated."""
    est = _estimates()
    co2, n_est = CarbonAccount.co2_total, literal(0)
    stmt = select(CarbonAccount.enterprise_id).join(
        Enterprise, Enterprise.id == CarbonAccount.enterprise_id)
    if est is not None:
        co2 = func.coalesce(est.c.co2, CarbonAccount.co2_total)
        n_est = case((est.c.co2.is_(None), 0), else_=1)
        stmt = stmt.outerjoin(est, and_(est.c.enterprise_id == CarbonAccount.enterprise_id,
                                        est.c.period == CarbonAccount.period))
    return db.session.execute(
        stmt.add_columns(Enterprise.region_code, Enterprise.industry_code, func.sum(co2),
                         func.sum(CarbonAccount.value_added), func.sum(n_est))
        .where(CarbonAccount.is_current.is_(True),
               CarbonAccount.period.between(p.first, p.last))
        .group_by(CarbonAccount.enterprise_id, Enterprise.region_code,
                  Enterprise.industry_code)).all()


def _issue_rows(keys: list[periods.Period], cfg: dict) -> int:
    all_schemes = schemes()
    n = 0
    for p in keys:
        ents = []
        groups: dict[tuple, list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
        for eid, region, ind, co2, va, n_est in _aggregates(p):
            area = area_of(region, cfg["area_level"])
            icode = industry_of(ind, cfg["industry_level"])
            ents.append((eid, area, icode, Decimal(co2 or 0), va, int(n_est or 0)))
            if icode and va is not None and va > 0:
                g = groups[(area, icode)]
                g[0] += co2 or 0
                g[1] += va
                g[2] += 1
        benches = {}
        for (area, icode), (co2, va, cnt) in groups.items():
            b = IndustryBenchmark(period_type=p.type, period_key=p.key, year=p.year,
                                  area_code=area, industry_level=cfg["industry_level"],
                                  industry_code=icode, co2_total=co2, value_added_total=va,
                                  intensity=engine.ratio(co2, va), enterprises=cnt,
                                  is_current=True)
            db.session.add(b)
            benches[(area, icode)] = b
        for sid in cfg["schemes"]:
            sch = all_schemes[sid]
            min_peers = cfg["min_peers"] or sch.min_peers
            for eid, area, icode, co2, va, n_est in ents:
                b = benches.get((area, icode))
                code = CarbonCode(
                    enterprise_id=eid, period_type=p.type, period_key=p.key, year=p.year,
                    scheme_id=sch.id, scheme_version=sch.version, basis=sch.basis,
                    area_code=area, industry_code=icode, co2=co2, value_added=va,
                    estimated_months=n_est, intensity=engine.ratio(co2, va),
                    benchmark_intensity=b.intensity if b else None,
                    peers=b.enterprises if b else None, graded=False, method="row")
                value = _basis_value(code, b, sch.basis, min_peers)
                if value is not None:
                    t = sch.grade(max(value, Decimal(0)))
                    code.graded, code.grade = True, t.grade
                    code.grade_label, code.colour = t.label, t.colour
                db.session.add(code)
                n += 1
    db.session.flush()
    return n


def _basis_value(code: CarbonCode, b: IndustryBenchmark | None, basis: str,
                 min_peers: int) -> Decimal | None:
    """The K or intensity to grade, or None with `code.reason` set."""
    if code.value_added is None or code.value_added <= 0:
        code.reason = R_NO_VA
        return None
    if basis == "intensity":
        return code.intensity
    if code.industry_code is None:
        code.reason = R_NO_INDUSTRY
        return None
    peers = b.enterprises if b else 0
    if peers < min_peers:
        code.reason = reason_few_peers(min_peers, peers)
        return None
    if b.co2_total <= 0:
        code.reason = "行业基准排放为零，无法计算碳效值"
        return None
    code.k_value = engine.k_value(code.co2, code.value_added, b.co2_total,
                                  b.value_added_total)
    return code.k_value


# ------------------------------------------------------------------ set-based path


def _grade_case(sch, column: str, params: dict, prefix: str) -> tuple[str, str, str]:
    grade, label, colour = [], [], []
    for i, t in enumerate(sch.thresholds):
        cond = "ELSE" if t.upper is None else f"WHEN {column} <= :{prefix}u{i} THEN"
        if t.upper is not None:
            params[f"{prefix}u{i}"] = t.upper
        params[f"{prefix}l{i}"], params[f"{prefix}c{i}"] = t.label, t.colour
        grade.append(f"{cond} {t.grade}")
        label.append(f"{cond} :{prefix}l{i}")
        colour.append(f"{cond} :{prefix}c{i}")
    wrap = "CASE WHEN {c} IS NULL THEN NULL ELSE CASE {b} END END"
    return tuple(wrap.format(c=column, b=" ".join(x)) for x in (grade, label, colour))


def _issue_set(s, keys: list[periods.Period], cfg: dict, all_schemes: dict,
               est: str | None) -> int:
    """Benchmarks and codes with a few INSERT ... SELECT on `s` (Session or Connection).
    Each enterprise's figures, its benchmark and K are computed once (`code_val`); each
    scheme's INSERT then only grades a column."""
    alen = 2 if cfg["area_level"] == "province" else 4
    asuffix = "0000" if alen == 2 else "00"
    ilen = INDUSTRY_LEN[cfg["industry_level"]]
    s.execute(text("DROP TABLE IF EXISTS code_per; DROP TABLE IF EXISTS code_ent; "
                   "DROP TABLE IF EXISTS code_val"))
    s.execute(text("""CREATE TEMP TABLE code_per (ptype text, pkey text, year int,
                      pfirst int, plast int) ON COMMIT DROP"""))
    s.execute(text("INSERT INTO code_per VALUES (:t, :k, :y, :f, :l)"),
              [{"t": p.type, "k": p.key, "y": p.year, "f": p.first, "l": p.last}
               for p in keys])
    s.execute(text("ANALYZE code_per"))
    est_join = (f"LEFT JOIN ({est}) x ON x.enterprise_id = a.enterprise_id "
                "AND x.period = a.period" if est else "")
    co2 = "COALESCE(x.co2, a.co2_total)" if est else "a.co2_total"
    n_est = "CASE WHEN x.co2 IS NULL THEN 0 ELSE 1 END" if est else "0"
    s.execute(text(f"""
        CREATE TEMP TABLE code_ent ON COMMIT DROP AS
        SELECT a.enterprise_id, p.ptype, p.pkey, p.year,
               substr(e.region_code, 1, {alen}) || '{asuffix}' AS area,
               CASE WHEN length(e.industry_code) >= {ilen}
                         AND substr(e.industry_code, 1, 2) ~ '^[0-9]{{2}}$'
                    THEN substr(e.industry_code, 1, {ilen}) END AS ind,
               sum({co2}) AS co2, sum(a.value_added) AS va, sum({n_est}) AS est
        FROM code_per p
        JOIN carbon_account a ON a.period BETWEEN p.pfirst AND p.plast AND a.is_current
        JOIN enterprise e ON e.id = a.enterprise_id
        {est_join}
        GROUP BY a.enterprise_id, p.ptype, p.pkey, p.year, e.region_code, e.industry_code"""))
    s.execute(text("""
        INSERT INTO industry_benchmark (period_type, period_key, year, area_code,
            industry_level, industry_code, co2_total, value_added_total, intensity,
            enterprises, is_current, computed_at)
        SELECT ptype, pkey, year, area, :lvl, ind, sum(co2), sum(va),
               {bench_i}, count(*), true, now() AT TIME ZONE 'utc'
        FROM code_ent WHERE va > 0 AND ind IS NOT NULL
        GROUP BY ptype, pkey, year, area, ind""".format(
        bench_i=engine.half_up("sum(co2)", "sum(va)", 6))), {"lvl": cfg["industry_level"]})
    s.execute(text("""
        CREATE TEMP TABLE code_val ON COMMIT DROP AS
        SELECT c.*, CASE WHEN c.va > 0 THEN {own_i} END AS intensity,
               b.intensity AS bench, b.enterprises AS peers, b.co2_total AS bco2,
               CASE WHEN c.va > 0 AND c.ind IS NOT NULL AND b.co2_total > 0
                    THEN {k} END AS k
        FROM code_ent c
        LEFT JOIN industry_benchmark b ON b.period_key = c.pkey AND b.area_code = c.area
             AND b.industry_code = c.ind AND b.industry_level = :lvl AND b.is_current
        ORDER BY c.enterprise_id""".format(
        own_i=engine.half_up("c.co2", "c.va", 6),
        k=engine.half_up("c.co2 * b.value_added_total", "c.va * b.co2_total", 4))),
              {"lvl": cfg["industry_level"]})
    n = 0
    for sid in cfg["schemes"]:
        sch = all_schemes[sid]
        params = {"sid": sch.id, "sver": sch.version, "basis": sch.basis,
                  "minp": cfg["min_peers"] or sch.min_peers,
                  "r_va": R_NO_VA, "r_ind": R_NO_INDUSTRY}
        if sch.basis == "K":
            value = "CASE WHEN COALESCE(c.peers, 0) >= CAST(:minp AS integer) THEN c.k END"
            reason = ("CASE WHEN c.va IS NULL OR c.va <= 0 THEN :r_va "
                      "WHEN c.ind IS NULL THEN :r_ind "
                      "WHEN COALESCE(c.peers, 0) < CAST(:minp AS integer) "
                      "THEN '行业可比企业不足 ' || CAST(:minp AS integer) || ' 家（现有 ' "
                      "|| COALESCE(c.peers, 0) || ' 家）' "
                      "WHEN c.bco2 <= 0 THEN '行业基准排放为零，无法计算碳效值' END")
        else:
            value = "c.intensity"
            reason = "CASE WHEN c.va IS NULL OR c.va <= 0 THEN :r_va END"
        grade, label, colour = _grade_case(sch, "v.val", params, "g")
        n += s.execute(text(f"""
            INSERT INTO carbon_code (enterprise_id, period_type, period_key, year, scheme_id,
                scheme_version, basis, area_code, industry_code, co2, value_added, intensity,
                benchmark_intensity, k_value, peers, graded, grade, grade_label, colour,
                reason, is_current, method, estimated_months, issued_at)
            SELECT v.enterprise_id, v.ptype, v.pkey, v.year, :sid, :sver, :basis, v.area,
                   v.ind, v.co2, v.va, v.intensity, v.bench,
                   {"v.val" if sch.basis == "K" else "NULL"}, v.peers,
                   v.val IS NOT NULL, {grade}, {label}, {colour}, v.reason, true, 'set',
                   v.est, now() AT TIME ZONE 'utc'
            FROM (SELECT c.*, {value} AS val,
                         CASE WHEN ({value}) IS NULL THEN {reason} END AS reason
                  FROM code_val c OFFSET 0) v"""), params).rowcount
    s.execute(text("DROP TABLE IF EXISTS code_per; DROP TABLE IF EXISTS code_ent; "
                   "DROP TABLE IF EXISTS code_val"))
    return n


# ------------------------------------------------------------------ reading


def current_for(*, enterprise_id: int, period_key: str, scheme_id: str | None = None):
    return db.session.scalar(select(CarbonCode).where(
        CarbonCode.enterprise_id == enterprise_id, CarbonCode.period_key == period_key,
        CarbonCode.scheme_id == (scheme_id or DEFAULT_SCHEMES[0]),
        CarbonCode.is_current.is_(True)))


def history(*, enterprise_id: int, scheme_id: str | None = None,
            period_type: str | None = None) -> list[CarbonCode]:
    stmt = select(CarbonCode).where(
        CarbonCode.enterprise_id == enterprise_id, CarbonCode.is_current.is_(True),
        CarbonCode.scheme_id == (scheme_id or DEFAULT_SCHEMES[0])).order_by(
        CarbonCode.period_key)
    if period_type:
        stmt = stmt.where(CarbonCode.period_type == period_type)
    return list(db.session.scalars(stmt))
