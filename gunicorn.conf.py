"""Production serving (gunicorn reads this file from the working directory, or `-c`).

Workers and threads follow the cores: one worker process per core (the GIL makes one process
use one core), each with enough threads that every connection it accepts reaches the
overload gate at once (`app.platform.overload`): `CECP_MAX_INFLIGHT` run, `CECP_MAX_QUEUE`
wait, and the server's own queue stays empty. `worker_connections` caps the connections one
worker holds; the listen backlog is short, so that excess load meets a 503 from the gate (or
HAProxy's queue timeout) instead of a long invisible queue. Every value can be overridden
by the environment variable named beside it. See docs/operations.md.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


_cores = multiprocessing.cpu_count()
_inflight = _int("CECP_MAX_INFLIGHT", 4)
_queue = _int("CECP_MAX_QUEUE", 32)

bind = (
    os.environ.get("CECP_BIND")
    or f"{os.environ.get('CECP_HOST', '127.0.0.1')}:{os.environ.get('CECP_PORT', '5000')}"
)
worker_class = "gthread"
workers = _int("CECP_WORKERS", max(2, _cores))
threads = _int("CECP_THREADS", max(8, _inflight + _queue))
worker_connections = _int("CECP_WORKER_CONNECTIONS", threads * 2)
backlog = _int("CECP_BACKLOG", 64)
keepalive = _int("CECP_KEEPALIVE", 5)
timeout = _int("CECP_WORKER_TIMEOUT", 60)  # a stuck worker is replaced
graceful_timeout = _int("CECP_GRACEFUL_TIMEOUT", 30)  # accepted work completes on restart
max_requests = _int("CECP_MAX_REQUESTS", 20000)  # recycle workers slowly (memory)
max_requests_jitter = max_requests // 10
preload_app = False  # each worker its own engine and keys
accesslog = os.environ.get("CECP_ACCESS_LOG", "-") or None
errorlog = "-"
proc_name = "cecp"
