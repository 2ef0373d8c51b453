"""The thread that runs periodic jobs: in `cecp worker`, and in embedded mode (no Redis)
in each web process, started by that process's first request (after any fork, so that
gunicorn workers each get their own). A thread, not a before-request hook: timers fire
even when nobody uses the site, and no user's request carries a sweep. Several tickers
(processes, nodes) are fine: the schedule rows let one of them run each due job.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from flask import Flask

from app.extensions import db
from app.jobs import periodic, settings

log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, app: Flask, *, before: Callable[[], None] | None = None) -> None:
        self.app, self.before = app, before
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()

    def once(self) -> list[str]:
        with self.app.app_context():
            try:
                if self.before is not None:
                    self.before()
                return periodic.tick()
            except Exception:  # noqa: BLE001 - keep ticking; the error is logged
                log.exception("periodic tick failed")
                db.session.rollback()
                return []
            finally:
                db.session.remove()

    def _loop(self) -> None:
        with self.app.app_context():
            every = settings.get("CECP_JOB_TICK_SECONDS")
        while not self.stop_event.wait(every):
            self.once()

    def start(self) -> Ticker:
        self.thread = threading.Thread(target=self._loop, name="cecp-ticker", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)


def embedded_enabled(app: Flask) -> bool:
    """The web process ticks when there is no Redis (no worker); tests opt in."""
    flag = app.config.get("CECP_EMBEDDED_TICKER")
    if flag is None:
        flag = not app.testing
    return bool(flag) and not app.config.get("CECP_REDIS_URL")


def init_embedded(app: Flask) -> None:
    lock = threading.Lock()

    @app.before_request
    def _start_ticker() -> None:
        current = app.extensions.get("cecp_ticker")
        if (current is not None and current.pid == os.getpid()) or not embedded_enabled(app):
            return
        with lock:
            current = app.extensions.get("cecp_ticker")
            if current is None or current.pid != os.getpid():
                app.extensions["cecp_ticker"] = Ticker(app).start()


def stop_embedded(app: Flask) -> None:
    ticker = app.extensions.pop("cecp_ticker", None)
    if ticker is not None:
        ticker.stop()
