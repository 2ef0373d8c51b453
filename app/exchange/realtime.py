"""The real-time store (R-8.7): latest value and today's total per meter.

With Redis configured the figures sit in one hash per meter (`<prefix>:rt:<meter id>`),
written after each stored batch; in embedded mode (no Redis) they are read from the
database (the latest reading and today's day rollup), so both modes answer the same.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from app.db import utcnow
from app.exchange.models import Meter, MeterReading, MeterRollup
from app.extensions import db
from app.jobs.queues import connection

BEIJING = timedelta(hours=8)


def _key(meter_id: int) -> str:
    return f"{current_app.config.get('CECP_QUEUE_PREFIX', 'cecp')}:rt:{meter_id}"


def _today_start():
    local = utcnow() + BEIJING
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def from_db(meter_ids: set[int]) -> dict[int, dict]:
    out: dict[int, dict] = {m: {"ts": None, "value": None, "today": Decimal(0)}
                            for m in meter_ids}
    if not meter_ids:
        return out
    ids = list(meter_ids)
    last = (select(MeterReading.meter_id, func.max(MeterReading.ts).label("ts"))
            .where(MeterReading.meter_id.in_(ids)).group_by(MeterReading.meter_id).subquery())
    for mid, ts, value in db.session.execute(
            select(MeterReading.meter_id, MeterReading.ts, MeterReading.value).join(
                last, (last.c.meter_id == MeterReading.meter_id) & (last.c.ts == MeterReading.ts))):
        out[mid].update(ts=ts, value=value)
    for mid, total in db.session.execute(select(MeterRollup.meter_id, MeterRollup.total).where(
            MeterRollup.meter_id.in_(ids), MeterRollup.resolution == "day",
            MeterRollup.bucket == _today_start())):
        out[mid]["today"] = total
    return out


def after_store(meter_ids: set[int]) -> None:
    """Refresh the Redis hashes of these meters (nothing to do in embedded mode)."""
    conn = connection()
    if conn is None or not meter_ids:
        return
    figures = from_db(meter_ids)
    try:
        pipe = conn.pipeline()
        for mid, f in figures.items():
            pipe.hset(_key(mid), mapping={
                "ts": f["ts"].isoformat() if f["ts"] else "", "value": str(f["value"] or ""),
                "today": str(f["today"]), "day": _today_start().date().isoformat()})
            pipe.expire(_key(mid), 3 * 86400)
        pipe.execute()
    except Exception:  # the historical store is the truth; Redis is a cache
        current_app.logger.warning("real-time store unavailable", exc_info=True)


def latest(meters: list[Meter]) -> dict[int, dict]:
    """Latest value and today's total per meter (Redis when configured, else the DB)."""
    ids = {m.id for m in meters}
    conn = connection()
    if conn is None:
        return from_db(ids)
    out: dict[int, dict] = {}
    missing: set[int] = set()
    today = _today_start().date().isoformat()
    try:
        pipe = conn.pipeline()
        order = sorted(ids)
        for mid in order:
            pipe.hgetall(_key(mid))
        for mid, h in zip(order, pipe.execute(), strict=True):
            h = {k.decode(): v.decode() for k, v in (h or {}).items()}
            if not h:
                missing.add(mid)
                continue
            from datetime import datetime

            out[mid] = {"ts": datetime.fromisoformat(h["ts"]) if h.get("ts") else None,
                        "value": Decimal(h["value"]) if h.get("value") else None,
                        "today": Decimal(h["today"]) if h.get("day") == today
                        else Decimal(0)}
    except Exception:
        current_app.logger.warning("real-time store unavailable", exc_info=True)
        return from_db(ids)
    out.update(from_db(missing))
    return out
