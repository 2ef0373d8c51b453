"""Background jobs. Each recomputes from the current accounts and replaces what it wrote
before, so running one twice has the effect of running it once.

* `analytics.flags` — anomaly detection for the enterprises whose accounts changed (None:
  everyone); enqueued by the accounts' change signal.
* `analytics.forecast` — forecasts and backtests of a chunk of enterprises.
* `analytics.forecast_all` — splits every enterprise into chunks of `CECP_ANALYTICS_CHUNK`
  (default 1,000) and enqueues one `analytics.forecast` each, so that the workers share
  them; periodic (daily)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.accounting.models import CarbonAccount
from app.analytics import service
from app.extensions import db
from app.jobs.registry import job


@job("analytics.flags")
def flags(enterprise_ids: list[int] | None = None) -> dict:
    return service.detect_flags(enterprise_ids=enterprise_ids)


@job("analytics.forecast")
def forecast(enterprise_ids: list[int] | None = None) -> int:
    return service.run_forecasts(enterprise_ids=enterprise_ids)


@job("analytics.forecast_all")
def forecast_all() -> int:
    from app.jobs.outbox import enqueue

    size = int(current_app.config.get("CECP_ANALYTICS_CHUNK", 1000))
    ids = list(db.session.scalars(select(CarbonAccount.enterprise_id).where(
        CarbonAccount.is_current.is_(True)).distinct().order_by(CarbonAccount.enterprise_id)))
    for i in range(0, len(ids), size):
        enqueue("analytics.forecast", enterprise_ids=ids[i:i + size])
    return len(ids)
