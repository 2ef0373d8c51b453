"""Background work through a transactional outbox handed to rq (or run in-process), with
leases, retries, dead letters and one registry of periodic jobs. See docs/jobs.md."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.jobs import periodic, probe, ticker  # noqa: F401 - probe registers its job
    from app.jobs.sweep import sweep

    periodic.register("jobs.sweep", every="CECP_JOB_SWEEP_SECONDS", run=sweep)
    ticker.init_embedded(app)
