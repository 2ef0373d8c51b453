"""`cecp worker`: an rq worker with scheduler, plus the periodic ticker in a thread (outbox
sweep, workflow timers, monitoring and whatever else is registered in `app.jobs.periodic`).

It runs jobs in its own process (SimpleWorker): each job is one transaction owned by the
runner, and forking would share the parent's database connections. Run more worker
processes to scale out. `--burst` sweeps once (reclaim + dispatch), works the queues empty
and exits.
"""

from __future__ import annotations

import time

from flask import current_app
from rq import SimpleWorker

from app.jobs import queues
from app.jobs.sweep import sweep
from app.jobs.ticker import Ticker


class Worker(SimpleWorker):
    """rq's SimpleWorker whose command channel thread wakes every second: with rq 3 and
    redis-py 7, the stock 60 s wake-up makes every worker shutdown (each `--burst` run)
    wait up to a minute after unsubscribing."""

    def subscribe(self) -> None:
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler)


    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Take no new job while an administrator has this worker offline (drained); the
        job in hand has already finished. Listens in short slices so that a drain takes
        effect within seconds."""
        if timeout is None or max_idle_time is not None:  # burst / idle-limited: as rq does
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while not self._stop_requested:
            if _drained():
                self.heartbeat()
                time.sleep(1)
                continue
            result = super().dequeue_job_and_maintain_ttl(min(timeout, 5), 5)
            if result is not None:
                return result
        return None


def _drained() -> bool:
    from app.platform.nodes import this_node_offline

    try:
        return this_node_offline("worker")
    except Exception:  # noqa: BLE001 - registry away: keep working
        return False
    finally:
        from app.extensions import db

        db.session.remove()


def _heartbeat() -> None:
    from app.platform.nodes import maybe_heartbeat

    maybe_heartbeat("worker")  # throttled; commits


def run_worker(*, burst: bool = False) -> None:
    conn = queues.connection()
    if conn is None:
        raise SystemExit("未配置 CECP_REDIS_URL：嵌入模式下后台任务在进程内执行，无需 worker。")
    sweep()
    app = current_app._get_current_object()
    ticker = None
    if not burst:
        from app.platform.serving import prepare_process

        prepare_process(app)
        ticker = Ticker(app, before=_heartbeat).start()
    try:
        Worker(queues.all_queues(conn), connection=conn).work(
            burst=burst, with_scheduler=not burst)
    finally:
        if ticker is not None:
            ticker.stop()
