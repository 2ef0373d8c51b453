"""Reference names every page shows (regions, industries, energy items, factors, people's
display names), read once per process and kept for `TTL` seconds instead of once per request:
four to six queries less on every page under load (issue 16).

Only names live here, never figures or permissions. A change this process flushes to one of
the tables drops the cache at once (and again if that transaction rolls back); a change made
by another process shows within the TTL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from itertools import chain
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")

TTL = 60.0
TABLES = frozenset({"region", "industry", "energy_type", "emission_factor", "user"})
_MAX_ENTRIES = 256  # many apps in one process (the test suite): start over beyond this
_lock = threading.Lock()
_entries: dict[tuple, tuple[float, int, Any]] = {}
_generations: dict[str, int] = dict.fromkeys(TABLES, 0)


def get(name: str, load: Callable[[], T], *, table: str) -> T:
    """The cached value of `name` (read from `table`) for this application, or `load()`
    stored."""
    key = (name, id(current_app._get_current_object()))
    now = time.monotonic()
    hit = _entries.get(key)
    if hit is not None and hit[1] == _generations[table] and now - hit[0] < TTL:
        return hit[2]
    generation = _generations[table]
    value = load()
    with _lock:
        if len(_entries) >= _MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (now, generation, value)
    return value


def clear(*tables: str) -> None:
    """Drop what was read from `tables` (all when none named)."""
    with _lock:
        for table in tables or TABLES:
            _generations[table] += 1


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    changed = {getattr(obj, "__tablename__", None)
               for obj in chain(session.new, session.dirty, session.deleted)} & TABLES
    if changed:
        session.info.setdefault("cecp_names_changed", set()).update(changed)
        clear(*changed)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    changed = session.info.pop("cecp_names_changed", None)
    if changed:
        clear(*changed)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop("cecp_names_changed", None)
