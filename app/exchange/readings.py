"""Meter readings: validate (field-level Chinese messages), store idempotently per
(meter, ts), keep corrections, maintain hour / day / month rollups, read back.

PostgreSQL path: COPY into a temporary table, then set-based SQL computes the deltas
against what is stored (new rows, changed values, repeats), writes corrections, upserts the
partitioned table and adds the deltas to the rollups, all in the caller's transaction.
SQLite (embedded) does the same in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, text

from app.db import utcnow
from app.energy.records import MAX_AMOUNT, parse_decimal
from app.exchange import columnar, partitions
from app.exchange import meters as meter_service
from app.exchange.models import Meter, MeterReading, MeterRollup, ReadingCorrection
from app.extensions import db
from app.identity.scope import DataScope

BEIJING = timedelta(hours=8)
RESOLUTIONS = ("hour", "day", "month")
#: largest plausible single reading, in the energy type's base unit, by category
DEFAULT_MAX = {"electricity": Decimal(10_000), "heat": Decimal(100_000),
               "coal": Decimal(100_000), "oil": Decimal(100_000), "gas": Decimal(10_000),
               "biomass": Decimal(100_000), "other": Decimal(1_000_000)}
FUTURE_TOLERANCE = timedelta(minutes=5)
#: validated rows: tuples from the per-row check, columns from the clean-batch one
Rows = Sequence[tuple[int, datetime, Decimal]] | columnar.Readings


@dataclass
class Checked:
    rows: Rows                                  # (meter_id, ts, value) each
    errors: dict[int, dict[str, str]]           # row index -> {field: message}
    outside: set[str]                           # meter ids outside the caller's scope


def bound_for(meter: Meter, types: dict) -> Decimal | None:
    """Per-reading ceiling in the meter's unit (configurable per energy type or category)."""
    et = types.get(meter.energy_type)
    if et is None:
        return None
    conf = current_app.config.get("CECP_READING_MAX") or {}
    ceiling = conf.get(et.code) or conf.get(et.category) or DEFAULT_MAX.get(et.category)
    factor = meter_service.unit_factor(et, meter.unit) or Decimal(1)
    return Decimal(str(ceiling)) / factor / (meter.multiplier or Decimal(1))


def validate(items: list, *, scope: DataScope, now: datetime | None = None) -> Checked:
    from app.energy.models import EnergyType

    now = now or utcnow()
    latest = now + FUTURE_TOLERANCE
    metas = columnar.meter_column(items)
    if metas is not None:
        ids = {raw.strip() for raw in set(metas)}
    else:
        ids = {str(it.get("meter") or "").strip() for it in items if isinstance(it, dict)}
    found, outside = meter_service.by_external_ids(ids, scope=scope)
    types = {t.code: t for t in db.session.scalars(select(EnergyType))}
    bounds = {m.id: bound_for(m, types) for m in found.values()}
    facts = {ext: (m, m.id, m.installed_at, m.unit, bounds[m.id]) for ext, m in found.items()}
    rows = None
    if metas is not None:
        rows = columnar.clean_rows(items, metas=metas, facts=facts, latest=latest)
    if rows is not None:
        return Checked(rows, {}, outside & ids)
    rows, errors = _check_rows(items, facts=facts, latest=latest)
    return Checked(rows, errors, outside & ids)


def _check_rows(items: list, *, facts: dict, latest: datetime
                ) -> tuple[list[tuple[int, datetime, Decimal]], dict[int, dict[str, str]]]:
    """Row by row: the rules and every field's message (`columnar` only takes clean
    batches faster)."""
    ts_memo: dict[str, datetime] = {}
    rows: list[tuple[int, datetime, Decimal]] = []
    errors: dict[int, dict[str, str]] = {}
    seen: dict[tuple[int, datetime], tuple[int, Decimal]] = {}
    for i, it in enumerate(items):
        err: dict[str, str] = {}
        if not isinstance(it, dict):
            errors[i] = {"row": "格式不正确，应为 {meter, ts, value}"}
            continue
        ext = str(it.get("meter") or "").strip()
        fact = facts.get(ext)
        meter = fact[0] if fact else None
        if not ext:
            err["meter"] = "请填写计量表编号"
        elif meter is None:
            err["meter"] = f"计量表“{ext}”不存在或不在您的数据范围内"
        raw_ts = it.get("ts")
        ts = ts_memo.get(raw_ts) if isinstance(raw_ts, str) else None
        if ts is None:
            ts = meter_service.parse_ts(raw_ts, "ts", err)
            if ts is not None and isinstance(raw_ts, str) and len(ts_memo) < 100_000:
                ts_memo[raw_ts] = ts
        value = _fast_decimal(it.get("value"))
        if value is None:
            value = parse_decimal(it.get("value"), "value", err, "读数", required=True)
        if ts is not None and ts > latest:
            err["ts"] = "时间不能晚于当前时间"
        if fact is not None:
            _, mid, installed, munit, ceiling = fact
            if ts is not None and installed and ts < installed:
                err["ts"] = "时间早于该计量表的启用时间"
            unit = it.get("unit")
            if unit and str(unit).strip() != munit:
                err["unit"] = f"单位与计量表不一致：应为 {munit}（当前“{str(unit).strip()}”）"
            if value is not None and ceiling is not None and value > ceiling:
                err["value"] = (f"读数超出合理范围（该表单次读数上限约 "
                                f"{ceiling.quantize(Decimal('0.01'))} {munit}）")
        if not err and meter is not None:
            key = (fact[1], ts)
            if key in seen:
                first, v = seen[key]
                if v != value:
                    err["ts"] = f"与第 {first + 1} 行的计量表和时间相同但读数不同"
                else:
                    continue  # the same reading twice in one batch: once is enough
            else:
                seen[key] = (i, value)
        if err:
            errors[i] = err
        else:
            rows.append((fact[1], ts, value))
    return rows, errors


def _fast_decimal(raw) -> Decimal | None:
    """The common case (a plain non-negative number as text) without the full parser;
    anything else (and every error message) goes through `records.parse_decimal`."""
    if type(raw) is not str:
        return None
    try:
        v = Decimal(raw)
    except ArithmeticError:
        return None
    return v if v.is_finite() and Decimal(0) <= v <= MAX_AMOUNT else None


@dataclass
class Stored:
    inserted: int = 0
    corrected: int = 0
    unchanged: int = 0


def store(rows: Rows, *, batch_id: int | None) -> Stored:
    if not rows:
        return Stored()
    rows = columnar.Readings.of(rows)
    mids, stamps = set(rows.mids), set(rows.tss)
    partitions.ensure({partitions.month_start(ts) for ts in stamps})
    if partitions.is_pg():
        return _store_pg(rows, batch_id, mids=mids, stamps=stamps)
    return _store_py(rows, batch_id)


def _store_pg(rows: columnar.Readings, batch_id, *, mids: set[int],
              stamps: set[datetime]) -> Stored:
    conn = db.session.connection()
    raw = conn.connection.driver_connection
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.tmp_reading"))
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.tmp_delta"))
    conn.execute(text("CREATE TEMP TABLE tmp_reading (meter_id bigint, ts timestamp, "
                      "value numeric(20,6)) ON COMMIT DROP"))
    with raw.cursor() as cur:
        with cur.copy("COPY tmp_reading (meter_id, ts, value) FROM STDIN") as cp:
            for chunk in _copy_text(rows, mids=mids, stamps=stamps):
                cp.write(chunk)
    params = {"batch": batch_id, "now": utcnow()}
    if not _overlaps(conn, mids, stamps) and _append(conn, params):
        _add_rollups(conn, "SELECT meter_id, ts, value AS delta, 1 AS is_new FROM tmp_reading",
                     fresh=_no_rollups(conn, mids=mids, stamps=stamps))
        return Stored(inserted=len(rows))
    conn.execute(text(
        "CREATE TEMP TABLE tmp_delta ON COMMIT DROP AS "
        "SELECT t.meter_id, t.ts, t.value AS new_value, r.value AS old_value, "
        "t.value - coalesce(r.value, 0) AS delta, (r.meter_id IS NULL)::int AS is_new "
        "FROM tmp_reading t LEFT JOIN meter_reading r "
        "ON r.meter_id = t.meter_id AND r.ts = t.ts WHERE r.value IS DISTINCT FROM t.value"))
    changed, new = conn.execute(text(
        "SELECT count(*), coalesce(sum(is_new), 0) FROM tmp_delta")).one()
    if not changed:
        return Stored(unchanged=len(rows))
    conn.execute(text(
        "INSERT INTO meter_reading_correction (meter_id, ts, old_value, new_value, batch_id, "
        "corrected_at) SELECT meter_id, ts, old_value, new_value, :batch, :now FROM tmp_delta "
        "WHERE is_new = 0"), params)
    conn.execute(text(
        "INSERT INTO meter_reading (meter_id, ts, value, batch_id) "
        "SELECT meter_id, ts, new_value, :batch FROM tmp_delta "
        "ON CONFLICT (meter_id, ts) DO UPDATE SET value = EXCLUDED.value, "
        "batch_id = EXCLUDED.batch_id"), params)
    _add_rollups(conn, "SELECT meter_id, ts, delta, is_new FROM tmp_delta")
    new = int(new)
    return Stored(inserted=new, corrected=int(changed) - new, unchanged=len(rows) - int(changed))


def _copy_text(rows: columnar.Readings, *, mids: set[int], stamps: set[datetime],
               size: int = 50_000) -> Iterator[str]:
    """COPY text in chunks, built by C-level map/zip/join over the columns: each meter id
    and time (many meters share a time) is formatted once; values as `str(Decimal)` (what
    numeric reads)."""
    mid_text = {m: str(m) for m in mids}
    ts_text = {ts: ts.isoformat(" ") for ts in stamps}
    for start in range(0, len(rows), size):
        end = start + size
        yield "\n".join(map("\t".join, zip(map(mid_text.__getitem__, rows.mids[start:end]),
                                            map(ts_text.__getitem__, rows.tss[start:end]),
                                            map(str, rows.vals[start:end]),
                                            strict=True))) + "\n"


def _overlaps(conn, mids: set[int], stamps: set[datetime]) -> bool:
    """Whether anything is stored within the batch's meters and time span (an index range
    probe). Streams append after what is stored, so the common answer is no."""
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM meter_reading WHERE meter_id = ANY(:ids) "
        "AND ts BETWEEN :lo AND :hi)"),
        {"ids": sorted(mids), "lo": min(stamps), "hi": max(stamps)}).scalar())


def _append(conn, params: dict) -> bool:
    """Append a batch that overlaps nothing stored: a plain insert, no delta join. A
    concurrent writer of the same (meter, ts) makes it fail; the savepoint then falls back
    to the merge path, so the answer is the same either way."""
    from sqlalchemy.exc import IntegrityError

    try:
        with conn.begin_nested():
            conn.execute(text(
                "INSERT INTO meter_reading (meter_id, ts, value, batch_id) "
                "SELECT meter_id, ts, value, :batch FROM tmp_reading"), params)
    except IntegrityError:
        return False
    return True


#: per meter and Beijing hour, summed before the multiplier: one multiplication per bucket,
#: not per reading, and exact in numeric (sum of d * m = m * sum of d); days and months
#: from the hours. Ordered: one lock order for every writer, so concurrent batches touching
#: the same buckets wait for each other instead of deadlocking.
_ROLLUP_INSERT = (
    "INSERT INTO meter_rollup (meter_id, resolution, bucket, total, count, last_ts) "
    "WITH g AS (SELECT meter_id, date_trunc('hour', ts + interval '8 hours') AS b, "
    "sum(delta) AS t, sum(is_new) AS c, max(ts) AS l FROM ({deltas}) d GROUP BY 1, 2), "
    "h AS (SELECT g.meter_id, g.b, g.t * m.multiplier AS t, g.c, g.l "
    "FROM g JOIN meter m ON m.id = g.meter_id) "
    "SELECT meter_id, 'hour', b, t, c, l FROM h UNION ALL "
    "SELECT meter_id, 'day', date_trunc('day', b), sum(t), sum(c), max(l) FROM h "
    "GROUP BY 1, 3 UNION ALL "
    "SELECT meter_id, 'month', date_trunc('month', b), sum(t), sum(c), max(l) FROM h "
    "GROUP BY 1, 3 ORDER BY 1, 2, 3")
_ROLLUP_MERGE = (
    " ON CONFLICT (meter_id, resolution, bucket) DO UPDATE SET "
    "total = meter_rollup.total + EXCLUDED.total, "
    "count = meter_rollup.count + EXCLUDED.count, "
    "last_ts = greatest(meter_rollup.last_ts, EXCLUDED.last_ts)")


def _add_rollups(conn, deltas: str, *, fresh: bool = False) -> None:
    """Add (delta, is_new) rows to the hour / day / month rollups (Beijing buckets).

    `fresh`: none of the batch's buckets existed when looked at (`_no_rollups`), so a plain
    insert is tried first: the conflict check per bucket is most of an upsert's cost. A
    concurrent writer of the same bucket makes it fail; the savepoint then falls back to
    the upsert, so the sums are the same either way."""
    from sqlalchemy.exc import IntegrityError

    insert = _ROLLUP_INSERT.format(deltas=deltas)
    if fresh:
        try:
            with conn.begin_nested():
                conn.execute(text(insert))
            return
        except IntegrityError:
            pass
    conn.execute(text(insert + _ROLLUP_MERGE))


def _no_rollups(conn, *, mids: set[int], stamps: set[datetime]) -> bool:
    """Whether no rollup of these meters lies between the month bucket of the first time
    and the hour bucket of the last (an index range probe): every bucket of the batch is
    in that span. Back-fills and first loads answer yes."""
    return not conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM meter_rollup WHERE meter_id = ANY(:ids) "
        "AND resolution = ANY(:res) AND bucket BETWEEN :lo AND :hi)"),
        {"ids": sorted(mids), "res": list(RESOLUTIONS),
         "lo": bucket_of(min(stamps), "month"), "hi": bucket_of(max(stamps), "hour")}).scalar()


def bucket_of(ts: datetime, resolution: str) -> datetime:
    local = ts + BEIJING
    if resolution == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    if resolution == "day":
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _store_py(rows, batch_id) -> Stored:
    """Embedded (SQLite) path: same semantics, row by row."""
    out = Stored()
    mults = {m.id: m.multiplier for m in db.session.scalars(
        select(Meter).where(Meter.id.in_({r[0] for r in rows})))}
    rollups: dict[tuple, list] = {}
    now = utcnow()
    for mid, ts, value in rows:
        old = db.session.get(MeterReading, (mid, ts))
        if old is not None and old.value == value:
            out.unchanged += 1
            continue
        if old is None:
            db.session.add(MeterReading(meter_id=mid, ts=ts, value=value, batch_id=batch_id))
            delta, new = value, 1
            out.inserted += 1
        else:
            db.session.add(ReadingCorrection(meter_id=mid, ts=ts, old_value=old.value,
                                             new_value=value, batch_id=batch_id,
                                             corrected_at=now))
            delta, new = value - old.value, 0
            old.value, old.batch_id = value, batch_id
            out.corrected += 1
        for res in RESOLUTIONS:
            acc = rollups.setdefault((mid, res, bucket_of(ts, res)), [Decimal(0), 0, ts])
            acc[0] += delta * mults[mid]
            acc[1] += new
            acc[2] = max(acc[2], ts)
    for (mid, res, bucket), (total, count, last) in rollups.items():
        row = db.session.get(MeterRollup, (mid, res, bucket))
        if row is None:
            db.session.add(MeterRollup(meter_id=mid, resolution=res, bucket=bucket,
                                       total=total, count=count, last_ts=last))
        else:
            row.total += total
            row.count += count
            row.last_ts = max(row.last_ts, last)
    db.session.flush()
    return out


def query(*, meter: Meter, start: datetime | None, end: datetime | None,
          resolution: str = "raw", limit: int = 10_000) -> list[dict]:
    """Raw readings (UTC ts) or rollups (Beijing-local bucket starts)."""
    if resolution == "raw":
        stmt = select(MeterReading).where(MeterReading.meter_id == meter.id)
        if start:
            stmt = stmt.where(MeterReading.ts >= start)
        if end:
            stmt = stmt.where(MeterReading.ts < end)
        return [{"ts": r.ts, "value": r.value}
                for r in db.session.scalars(stmt.order_by(MeterReading.ts).limit(limit))]
    stmt = select(MeterRollup).where(MeterRollup.meter_id == meter.id,
                                     MeterRollup.resolution == resolution)
    if start:
        stmt = stmt.where(MeterRollup.bucket >= start + BEIJING)
    if end:
        stmt = stmt.where(MeterRollup.bucket < end + BEIJING)
    return [{"bucket": r.bucket, "total": r.total, "count": r.count, "last_ts": r.last_ts}
            for r in db.session.scalars(stmt.order_by(MeterRollup.bucket).limit(limit))]


def corrections(*, meter: Meter) -> list[ReadingCorrection]:
    return list(db.session.scalars(select(ReadingCorrection).where(
        ReadingCorrection.meter_id == meter.id).order_by(ReadingCorrection.id)))
