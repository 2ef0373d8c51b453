"""Production serving (gunicorn reads this file from the working directory, or `-c`).

Workers and threads follow the cores: one worker process per core (the GIL makes one process
use one core), each with twice as many threads as the overload gate (`app.platform.overload`)
lets run (`CECP_MAX_INFLIGHT`) and wait (`CECP_MAX_QUEUE`), so that a request beyond the gate's
queue reaches it on a free thread and gets its 503 at once instead of waiting unseen for one.
A worker holds up to `worker_connections` connections: people keep a connection open between
pages (keep-alive), and an idle one costs a file descriptor, not a thread. Too few (the old
2 × threads) made a worker stop accepting while a thousand signed-in users sat idle, and new
connections then waited in the kernel for seconds (SYN retries) where no gate could see them.
Every value can be overridden by the environment variable named beside it. See
docs/operations.md.
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
threads = _int("CECP_THREADS", max(8, 2 * (_inflight + _queue)))
worker_connections = _int("CECP_WORKER_CONNECTIONS", 1000)
backlog = _int("CECP_BACKLOG", 256)
keepalive = _int("CECP_KEEPALIVE", 5)
timeout = _int("CECP_WORKER_TIMEOUT", 60)  # a stuck worker is replaced
graceful_timeout = _int("CECP_GRACEFUL_TIMEOUT", 30)  # accepted work completes on restart
max_requests = _int("CECP_MAX_REQUESTS", 20000)  # recycle workers slowly (memory)
max_requests_jitter = max_requests // 10
preload_app = False  # each worker its own engine and keys
accesslog = os.environ.get("CECP_ACCESS_LOG", "-") or None
errorlog = "-"
proc_name = "cecp"
