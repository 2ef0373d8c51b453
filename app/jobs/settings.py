"""Job tuning, from the application configuration or the environment (seconds as floats,
so that tests can run leases and backoff in fractions of a second)."""

from __future__ import annotations

import os

from flask import current_app

DEFAULTS: dict[str, float] = {
    "CECP_JOB_MAX_ATTEMPTS": 5,           # then the row is dead-lettered
    "CECP_JOB_BACKOFF_SECONDS": 10,       # retry n waits base * 2**(n-1) ...
    "CECP_JOB_BACKOFF_MAX_SECONDS": 3600,  # ... at most this long
    "CECP_JOB_LEASE_SECONDS": 600,        # a dispatched/running row older than this is lost
    "CECP_JOB_SWEEP_SECONDS": 15,         # how often the reclaim sweep runs
    "CECP_JOB_TICK_SECONDS": 1,           # how often a ticker looks for due periodic jobs
}


def get(name: str, default: float | None = None) -> float:
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name)
    if value is None or value == "":
        value = DEFAULTS.get(name, default)
    return float(value)


def max_attempts() -> int:
    return max(1, int(get("CECP_JOB_MAX_ATTEMPTS")))


def backoff(attempts: int) -> float:
    """Seconds to wait before the next try after `attempts` failed tries."""
    base = get("CECP_JOB_BACKOFF_SECONDS")
    return min(get("CECP_JOB_BACKOFF_MAX_SECONDS"), base * 2 ** max(0, attempts - 1))
