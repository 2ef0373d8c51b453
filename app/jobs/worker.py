"""`cecp worker`: an rq worker with scheduler, plus an outbox sweep in a thread.

It runs jobs in its own process (SimpleWorker): each job is one transaction that catches
its own failure, and forking would share the parent's database connections. Run more
worker processes to scale out.
"""

from __future__ import annotations

import threading

from flask import current_app
from rq import SimpleWorker

from app.jobs import queues
from app.jobs.outbox import dispatch_pending


def _sweep(app, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        with app.app_context():
            try:
                from app.jobs.periodic import enqueue_due
                from app.platform.nodes import heartbeat

                heartbeat("worker")
                enqueue_due()
                dispatch_pending()
                from app.extensions import db as _db

                _db.session.commit()
            except Exception:  # keep sweeping; the error is logged
                app.logger.exception("outbox sweep failed")
            finally:
                from app.extensions import db

                db.session.remove()


def run_worker(*, burst: bool = False, sweep_seconds: float = 5.0) -> None:
    conn = queues.connection()
    if conn is None:
        raise SystemExit("未配置 CECP_REDIS_URL：嵌入模式下后台任务在进程内执行，无需 worker。")
    dispatch_pending()
    app = current_app._get_current_object()
    if not burst:
        from app.platform.serving import prepare_process

        prepare_process(app)
    stop = threading.Event()
    if not burst:
        threading.Thread(target=_sweep, args=(app, stop, sweep_seconds), daemon=True).start()
    try:
        SimpleWorker(queues.all_queues(conn), connection=conn).work(
            burst=burst, with_scheduler=not burst)
    finally:
        stop.set()
