"""The one registry of periodic jobs. Domains register here (`register(...)` in their
`register(app)`); a ticker runs what is due: the thread of `cecp worker`, or in embedded
mode (no Redis) a thread of the web process (`app.jobs.ticker`).

Cluster-wide, each periodic job runs once per interval: the process that moves the row's
`next_at` forward with one guarded UPDATE runs it; the others see 0 rows updated. The ticker
owns the unit of work: a job's `run` never commits; the ticker commits after it, or, with
`items`, after each item (one failing item is rolled back and the rest go on).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from app.db import utcnow
from app.extensions import db
from app.jobs import settings
from app.jobs.models import JobSchedule
from app.uow import commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    every: float | str          # seconds, or the name of a setting holding them
    run: Callable[..., Any]     # run() or, with `items`, run(item)
    items: Callable[[], Iterable[Any]] | None = None
    default: float = 60.0       # when `every` names a setting that is not set

    def seconds(self) -> float:
        if isinstance(self.every, str):
            return max(0.0, settings.get(self.every, self.default))
        return float(self.every)


PERIODIC: dict[str, Periodic] = {}


def register(name: str, *, every: float | str, run: Callable[..., Any],
             items: Callable[[], Iterable[Any]] | None = None, default: float = 60.0) -> None:
    """Register (or replace) a periodic job; `every` is seconds or a setting's name."""
    PERIODIC[name] = Periodic(name, every, run, items, default)


def _claim(p: Periodic, now: datetime) -> bool:
    """Move `next_at` forward if it is due; True if this process won the slot."""
    if db.session.get(JobSchedule, p.name) is None:
        try:
            with db.session.begin_nested():
                db.session.add(JobSchedule(name=p.name))
        except IntegrityError:
            pass
    won = db.session.execute(
        update(JobSchedule).where(JobSchedule.name == p.name, or_(
            JobSchedule.next_at.is_(None), JobSchedule.next_at <= now))
        .values(next_at=now + timedelta(seconds=p.seconds()), last_started_at=now)
    ).rowcount == 1
    db.session.commit()
    return won


def _finish(name: str, error: str | None) -> None:
    db.session.execute(update(JobSchedule).where(JobSchedule.name == name).values(
        last_finished_at=utcnow(), last_error=error))
    db.session.commit()


def run_now(name: str) -> int:
    """Run one periodic job here and now (the ticker, `cecp processes sweep`). Returns the
    number of items done (1 for a job without items)."""
    p = PERIODIC[name]
    if p.items is None:
        p.run()
        commit()
        return 1
    ids = list(p.items())
    db.session.rollback()  # release the listing's snapshot; each item reads afresh
    done = 0
    for item in ids:
        try:
            if p.run(item) is not False:
                done += 1
            commit()
        except Exception:  # noqa: BLE001 - one item must not stop the rest
            db.session.rollback()
            log.warning("periodic job %s: item %r failed", name, item, exc_info=True)
    return done


def tick(now: datetime | None = None) -> list[str]:
    """Run every periodic job whose interval elapsed (cluster-wide); returns their names."""
    ran = []
    for p in list(PERIODIC.values()):
        try:
            if not _claim(p, now or utcnow()):
                continue
        except Exception:  # noqa: BLE001 - database away: try again next tick
            db.session.rollback()
            log.warning("periodic job %s: cannot claim", p.name, exc_info=True)
            continue
        error = None
        try:
            run_now(p.name)
            ran.append(p.name)
        except Exception:  # noqa: BLE001 - logged and kept on the schedule row
            db.session.rollback()
            error = traceback.format_exc()[-2000:]
            log.error("periodic job %s failed\n%s", p.name, error)
        try:
            _finish(p.name, error)
        except Exception:  # noqa: BLE001
            db.session.rollback()
    return ran


def schedule() -> list[dict[str, Any]]:
    """Every registered periodic job with its interval and last run (admin page)."""
    rows = {r.name: r for r in db.session.scalars(select(JobSchedule)).all()}
    return [{"name": p.name, "seconds": p.seconds(), "row": rows.get(p.name)}
            for p in sorted(PERIODIC.values(), key=lambda p: p.name)]
