"""Monthly partitions of `meter_reading` (PostgreSQL): made ahead by a periodic job and on
demand for back-filled months; retention drops whole partitions (R-8.7)."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from sqlalchemy import text

from app.extensions import db

PARENT = "meter_reading"
_known: set[str] = set()


def is_pg() -> bool:
    return db.engine.dialect.name == "postgresql"


def month_start(d: date | datetime) -> date:
    return date(d.year, d.month, 1)


def add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


LOCK_KEY = 7_240_514  # pg_advisory_xact_lock: one partition creator at a time


def name_for(month: date) -> str:
    return f"{PARENT}_p{month.year}{month.month:02d}"


def existing() -> set[str]:
    rows = db.session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :parent"),
        {"parent": PARENT}).scalars()
    return set(rows)


def ensure(months: set[date]) -> list[str]:
    """Create the partitions of these months (first days) that do not exist yet."""
    if not is_pg() or not months:
        return []
    wanted = {name_for(m): m for m in months}
    if set(wanted) <= _known:
        return []
    # CREATE TABLE IF NOT EXISTS is not safe against a concurrent creator (two server
    # processes storing the first readings of a month): serialise on a transaction lock
    # and look again once it is held
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    have = existing()
    _known.update(have)
    made = []
    for name, m in sorted(wanted.items()):
        if name in have:
            continue
        db.session.execute(text(
            f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF {PARENT} '
            f"FOR VALUES FROM ('{m.isoformat()}') TO ('{add_months(m, 1).isoformat()}')"))
        made.append(name)
    _known.update(made)
    return made


def ensure_ahead(today: date | None = None, months_ahead: int | None = None) -> list[str]:
    today = today or date.today()
    ahead = months_ahead if months_ahead is not None else int(
        current_app.config.get("CECP_READING_PARTITIONS_AHEAD", 3))
    first = month_start(today)
    return ensure({add_months(first, i) for i in range(-1, ahead + 1)})


def drop_expired(today: date | None = None, keep_months: int | None = None) -> list[str]:
    """Drop raw-reading partitions wholly older than the retention (months)."""
    if not is_pg():
        return []
    keep = keep_months if keep_months is not None else int(
        current_app.config.get("CECP_READING_RETENTION_MONTHS", 36))
    cutoff = add_months(month_start(today or date.today()), -keep)
    dropped = []
    for name in sorted(existing()):
        tail = name.rsplit("_p", 1)[-1]
        if len(tail) != 6 or not tail.isdigit():
            continue
        if date(int(tail[:4]), int(tail[4:]), 1) < cutoff:
            db.session.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
            _known.discard(name)
            dropped.append(name)
    return dropped


def forget() -> None:
    """Tests drop and recreate databases: forget what this process saw."""
    _known.clear()
