"""Settings for the set-based bulk statements on PostgreSQL (one place, four callers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text

WORK_MEM = "256MB"  # aggregates of a 120,000-row chunk stay in memory instead of spilling


@contextmanager
def bulk_settings(conn: Any, *, own_transaction: bool = False) -> Iterator[None]:
    """Raise work_mem for the statements inside (restored after: the caller's transaction
    goes on). A chunk in its own transaction also commits asynchronously: it is re-run
    whole if lost."""
    if own_transaction:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
    old = conn.execute(text("SELECT current_setting('work_mem')")).scalar_one()
    conn.execute(text("SELECT set_config('work_mem', :v, true)"), {"v": WORK_MEM})
    try:
        yield
    finally:
        conn.execute(text("SELECT set_config('work_mem', :v, true)"), {"v": old})
