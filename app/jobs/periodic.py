"""Periodic jobs: `every(seconds, name)`; the worker's sweep thread enqueues what is due.

Each worker process keeps its own clock; a job that runs twice (two workers) must be, and
is, idempotent.
"""

from __future__ import annotations

import time

PERIODIC: dict[str, float] = {}
_last: dict[str, float] = {}


def every(seconds: float, name: str) -> None:
    PERIODIC[name] = seconds


def enqueue_due(now: float | None = None) -> list[str]:
    """Enqueue (in the caller's transaction) every periodic job whose interval elapsed."""
    from app.jobs.outbox import enqueue

    now = time.monotonic() if now is None else now
    due = [n for n, s in PERIODIC.items() if now - _last.get(n, float("-inf")) >= s]
    for name in due:
        enqueue(name)
        _last[name] = now
    return due
