"""`jobs.probe`: a job that only leaves an audit record, optionally after a pause, so that
an operator (and the tests, in a real worker process) can check the whole path: outbox,
Redis, worker, leases, reclaim."""

from __future__ import annotations

import time

from app.audit import service as audit
from app.jobs.registry import job

MAX_PAUSE = 60.0


@job("jobs.probe")
def probe(tag: str, pause: float = 0.0) -> None:
    time.sleep(min(max(0.0, float(pause)), MAX_PAUSE))
    audit.record("jobs.probe", object_type="outbox_job", object_id=tag, email="system")
