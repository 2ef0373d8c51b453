"""Maintain the monitoring facts from the current carbon accounts, incrementally.

Three ways in, all ending in `refresh_facts`:
- the accounting side enqueues `monitoring.refresh` (enterprise ids, months) in the same
  transaction as a recompute, so the facts follow within seconds of the commit;
- `catch_up()` folds in every account written since the last watermark (carbon_account.id
  only grows: a recompute inserts a new version row), run by the periodic sweep job and,
  cheaply, before a monitoring page or API reads (two index look-ups when nothing is new);
- `refresh_facts()` with no selector rebuilds everything (nightly, or after a migration).

Set-based SQL that runs on PostgreSQL and SQLite; services flush, the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, select, text

from app.accounting.hooks import estimated_co2_sql
from app.db import utcnow
from app.extensions import db
from app.i18n import Msg
from app.monitoring.models import MonitoringState

STATE = "facts"
LOCK_KEY = 7_240_515          # PostgreSQL advisory lock: one refresh at a time
MAX_ENTERPRISE_LIST = 5000    # beyond this, refresh whole months (a superset is still right)
SYNC_CATCH_UP_LIMIT = 20000   # accounts folded in synchronously on a read; more -> job

_LINE_ITEM = "CASE WHEN l.flow = 'process' THEN 'process' ELSE l.item END"

FACT_INSERT = f"""
INSERT INTO monitoring_fact (enterprise_id, uscc, period, year, month, region_code,
    industry_code, division, sector, item, unit, amount, tce, co2, value_added,
    gross_output, account_id, estimated)
SELECT a.enterprise_id, e.uscc, a.period, a.year, a.month, a.region_code, a.industry_code,
       substr(a.industry_code, 1, 2), i.sector, {_LINE_ITEM}, max(l.unit),
       sum(CASE WHEN l.flow = 'process' THEN 0
                WHEN l.sign < 0 THEN -l.amount ELSE l.amount END),
       sum(l.tce), sum(CASE WHEN l.bucket = 'biomass' THEN 0 ELSE l.co2 END),
       NULL, NULL, a.id, 0
FROM carbon_account a
JOIN enterprise e ON e.id = a.enterprise_id
LEFT JOIN industry i ON i.code = a.industry_code
JOIN carbon_account_line l ON l.account_id = a.id
WHERE a.is_current {{where}}
GROUP BY a.id, a.enterprise_id, e.uscc, a.period, a.year, a.month, a.region_code,
         a.industry_code, i.sector, {_LINE_ITEM}
UNION ALL
SELECT a.enterprise_id, e.uscc, a.period, a.year, a.month, a.region_code, a.industry_code,
       substr(a.industry_code, 1, 2), i.sector, '*', NULL, 0, a.energy_tce, {{est_co2}},
       a.value_added, a.gross_output, a.id, {{est_flag}}
FROM carbon_account a
JOIN enterprise e ON e.id = a.enterprise_id
LEFT JOIN industry i ON i.code = a.industry_code
{{est_join}}
WHERE a.is_current {{where}}
"""


def _fact_insert(where: str) -> str:
    """FACT_INSERT for a selection; where a region includes estimates (the accounting hook
    `ESTIMATED_CO2`), the month's total CO2 is the estimate and the fact says so."""
    est = estimated_co2_sql()
    if est is None:
        return FACT_INSERT.format(where=where, est_co2="a.co2_total", est_flag="0",
                                  est_join="")
    return FACT_INSERT.format(
        where=where, est_co2="COALESCE(x.co2, a.co2_total)",
        est_flag="CASE WHEN x.co2 IS NULL THEN 0 ELSE 1 END",
        est_join=f"LEFT JOIN ({est}) x ON x.enterprise_id = a.enterprise_id "
                 "AND x.period = a.period")

CUBE_INSERT = """
INSERT INTO monitoring_cube (period, year, region_code, division, sector, item, amount, tce,
    co2, value_added, enterprises, estimated)
SELECT f.period, f.year, f.region_code, COALESCE(f.division, ''), COALESCE(f.sector, ''),
       f.item, sum(f.amount), sum(f.tce), sum(f.co2), COALESCE(sum(f.value_added), 0),
       count(*), sum(f.estimated)
FROM monitoring_fact f
WHERE true {where}
GROUP BY f.period, f.year, f.region_code, COALESCE(f.division, ''), COALESCE(f.sector, ''),
         f.item
"""


def _is_pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _lock(wait: bool = True) -> bool:
    """Serialise refreshes across processes (PostgreSQL); SQLite serialises writers."""
    if not _is_pg():
        return True
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    got = db.session.execute(text(f"SELECT {fn}(:k)"), {"k": LOCK_KEY}).scalar()
    return True if wait else bool(got)


def _selection(alias: str, enterprise_ids: list[int] | None, periods: list[int] | None,
               params: dict) -> tuple[str, list]:
    parts, binds = [], []
    if enterprise_ids is not None:
        parts.append(f"{alias}.enterprise_id IN :ents")
        params["ents"] = enterprise_ids
        binds.append(bindparam("ents", expanding=True))
    if periods is not None:
        parts.append(f"{alias}.period IN :periods")
        params["periods"] = periods
        binds.append(bindparam("periods", expanding=True))
    return "".join(" AND " + p for p in parts), binds


def _exec(sql: str, params: dict, binds: list) -> int:
    stmt = text(sql).bindparams(*binds) if binds else text(sql)
    return db.session.execute(stmt, params).rowcount or 0


def _keys(where: str, params: dict, binds: list) -> tuple[set[str], set[int]]:
    sql = f"SELECT DISTINCT f.region_code, f.period FROM monitoring_fact f WHERE true {where}"
    stmt = text(sql).bindparams(*binds) if binds else text(sql)
    rows = db.session.execute(stmt, params).all()
    return {r[0] for r in rows}, {r[1] for r in rows}


def state() -> MonitoringState:
    row = db.session.get(MonitoringState, STATE)
    if row is None:
        row = MonitoringState(name=STATE, watermark=0, rows=0)
        db.session.add(row)
        db.session.flush()
    return row


def refresh_facts(enterprise_ids: Iterable[int] | None = None,
                  periods: Iterable[int] | None = None) -> int:
    """Rebuild the facts of the selected enterprise-months (None = all) from the current
    accounts, then the cube cells they touch. Returns the number of fact rows written."""
    ents = sorted(set(enterprise_ids)) if enterprise_ids is not None else None
    pers = sorted(set(periods)) if periods is not None else None
    if ents is not None and len(ents) > MAX_ENTERPRISE_LIST and pers is not None:
        ents = None
    if ents == [] or pers == []:
        return 0
    _lock()
    full = ents is None and pers is None
    params: dict = {}
    where_f, binds = _selection("f", ents, pers, params)
    where_a, _ = _selection("a", ents, pers, {})
    regions, months = (set(), set()) if full else _keys(where_f, params, binds)
    if full:
        db.session.execute(text("DELETE FROM monitoring_fact"))
    else:
        _exec(f"DELETE FROM monitoring_fact WHERE id IN (SELECT f.id FROM monitoring_fact f "
              f"WHERE true {where_f})", params, binds)
    written = _exec(_fact_insert(where_a), params, binds)
    if full:
        db.session.execute(text("DELETE FROM monitoring_cube"))
        _exec(CUBE_INSERT.format(where=""), {}, [])
    else:
        r2, m2 = _keys(where_f, params, binds)
        regions |= r2
        months |= m2
        if regions and months:
            cp = {"regions": sorted(regions), "months": sorted(months)}
            cb = [bindparam("regions", expanding=True), bindparam("months", expanding=True)]
            cw = " AND f.region_code IN :regions AND f.period IN :months"
            _exec("DELETE FROM monitoring_cube WHERE id IN (SELECT f.id FROM monitoring_cube f "
                  f"WHERE true {cw})", cp, cb)
            _exec(CUBE_INSERT.format(where=cw), cp, cb)
    st = state()
    st.refreshed_at = utcnow()
    st.rows = written
    if full:
        st.watermark = _max_account_id()
        st.source_computed_at = _max_computed()
    db.session.flush()
    return written


def _max_computed(above: int | None = None, upto: int | None = None) -> datetime | None:
    """Typed (not text) so that SQLite returns a datetime, as PostgreSQL does."""
    from sqlalchemy import DateTime, Integer, column, func, select, table

    acc = table("carbon_account", column("id", Integer), column("computed_at", DateTime))
    stmt = select(func.max(acc.c.computed_at))
    if above is not None:
        stmt = stmt.where(acc.c.id > above, acc.c.id <= upto)
    return db.session.scalar(stmt)


def _max_account_id() -> int:
    return db.session.scalar(text("SELECT COALESCE(max(id), 0) FROM carbon_account")) or 0


def pending() -> int:
    """How many account rows the facts have not folded in yet (cheap: PK range)."""
    wm = state().watermark
    return db.session.scalar(text("SELECT count(*) FROM carbon_account WHERE id > :w"),
                             {"w": wm}) or 0


def catch_up(*, limit: int | None = None, wait: bool = True) -> int:
    """Fold in every account written since the watermark. With `limit`, give up (return -1)
    when more are pending, so that a page view never carries a big rebuild."""
    if not _accounting_ready():
        return 0
    st = state()
    top = _max_account_id()
    if top <= st.watermark:
        return 0
    if not _lock(wait):
        return 0
    db.session.refresh(st)
    if top <= st.watermark:
        return 0
    n = db.session.scalar(text("SELECT count(*) FROM carbon_account WHERE id > :w "
                               "AND id <= :t"), {"w": st.watermark, "t": top}) or 0
    if limit is not None and n > limit:
        return -1
    rows = db.session.execute(text(
        "SELECT DISTINCT enterprise_id, period FROM carbon_account WHERE id > :w AND id <= :t"),
        {"w": st.watermark, "t": top}).all()
    computed: datetime | None = _max_computed(st.watermark, top)
    ents = sorted({r[0] for r in rows})
    pers = sorted({r[1] for r in rows})
    refresh_facts(ents, pers)
    st = state()
    st.watermark = top
    if computed is not None:
        st.source_computed_at = computed
    db.session.flush()
    return len(rows)


def ensure_fresh() -> None:
    """Before a read: fold in a modest backlog now, hand a large one to the job queue."""
    try:
        done = catch_up(limit=SYNC_CATCH_UP_LIMIT, wait=False)
    except Exception:  # never break a page over freshness; the sweep will retry
        db.session.rollback()
        return
    if done == -1:
        from app.jobs.outbox import enqueue

        enqueue("monitoring.sweep")
    elif done:
        from app.uow import commit

        commit()


_READY: dict[str, bool] = {}


def _accounting_ready() -> bool:
    """The accounting tables exist (they are built concurrently by another package)."""
    bind = db.session.get_bind()
    key = str(bind.url)
    if not _READY.get(key):
        from sqlalchemy import inspect

        _READY[key] = inspect(bind).has_table("carbon_account")
    return _READY[key]


#: other domains' "数据截至" per source (exchange: latest reading per meter source system,
#: last sync per intermediate database): fn(scope) -> [{"source", "kind", "at" (naive UTC)}]
FRESHNESS_SOURCES: list = []


def source_freshness(scope) -> list[dict]:
    """Each registered source's latest time, in Beijing time, with its label; a failing
    source is left out (a page never breaks over a freshness line)."""
    from datetime import timedelta

    out = []
    for fn in FRESHNESS_SOURCES:
        try:
            items = fn(scope)
        except Exception:  # noqa: BLE001 - another domain's data; never break the page
            db.session.rollback()
            continue
        for it in items:
            at = (it["at"] + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") if it["at"] else "—"
            out.append({**it, "at": at,
                        "label": Msg("%(source)s%(kind)s：数据截至 %(at)s",
                                     source=it["source"], kind=it.get("kind", ""), at=at)})
    return out


def freshness() -> dict:
    """What the pages print as "数据截至 …": when facts were last refreshed and the newest
    account they include (UTC stored, shown in Beijing time)."""
    st = db.session.get(MonitoringState, STATE)
    from datetime import timedelta

    def bj(ts: datetime | None) -> str | None:
        return (ts + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S") if ts else None

    return {"refreshed_at": bj(st.refreshed_at) if st else None,
            "source_computed_at": bj(st.source_computed_at) if st else None,
            "watermark": st.watermark if st else 0,
            "label": Msg("数据截至 %(at)s（北京时间）", at=bj(st.refreshed_at))
            if st and st.refreshed_at else "数据截至：尚未汇总"}


def latest_period() -> int | None:
    from app.monitoring.models import MonitoringCube

    return db.session.scalar(select(func.max(MonitoringCube.period)))
