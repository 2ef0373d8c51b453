"""Settings of the script and task data bounds, applied to the engine at app start.

| setting | default | meaning |
|---|---|---|
| ``CECP_SCRIPT_CPU_SECONDS`` | 2 | CPU time of one script/condition (bounded child) |
| ``CECP_SCRIPT_MEMORY_MB`` | 256 | memory one script may allocate (RLIMIT_AS of the child) |
| ``CECP_SCRIPT_BOUNDED`` | true | false: run every script in-process (trusted deployments) |
| ``CECP_TASK_DATA_MAX_BYTES`` | 1048576 | JSON size of one live task's data |

The engine keeps the values in process-wide objects (`sandbox.LIMITS`, `data_limit.BOUND`):
it is Flask-free and runs inside rq workers too, which build the same app.
"""

from __future__ import annotations

import os

from flask import Flask

from app.workflow.engine.data_limit import BOUND
from app.workflow.engine.sandbox import LIMITS


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default).strip() or default


def configure(app: Flask) -> None:
    cfg = app.config
    cfg.setdefault("CECP_SCRIPT_CPU_SECONDS", float(_env("CECP_SCRIPT_CPU_SECONDS", "2")))
    cfg.setdefault("CECP_SCRIPT_MEMORY_MB", int(_env("CECP_SCRIPT_MEMORY_MB", "256")))
    cfg.setdefault(
        "CECP_SCRIPT_BOUNDED",
        _env("CECP_SCRIPT_BOUNDED", "true").lower() in {"1", "true", "yes", "on"},
    )
    cfg.setdefault(
        "CECP_TASK_DATA_MAX_BYTES", int(_env("CECP_TASK_DATA_MAX_BYTES", str(1024 * 1024)))
    )
    LIMITS.cpu_seconds = float(cfg["CECP_SCRIPT_CPU_SECONDS"])
    LIMITS.memory_mb = int(cfg["CECP_SCRIPT_MEMORY_MB"])
    LIMITS.bounded = bool(cfg["CECP_SCRIPT_BOUNDED"])
    BOUND.max_bytes = int(cfg["CECP_TASK_DATA_MAX_BYTES"])
