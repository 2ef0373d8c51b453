"""Factors jobs: `factors.estimates_refresh` re-estimates the enterprise-months of the
enterprises whose accounts changed (the accounting change signal enqueues it), so the
estimates — and, where a region includes them, its monitoring facts — never go stale.
Idempotent: `estimates.estimate` replaces its own rows."""

from __future__ import annotations

from app.factors import estimates
from app.jobs.outbox import enqueue
from app.jobs.registry import job


@job("factors.estimates_refresh")
def estimates_refresh(enterprise_ids: list[int] | None = None) -> int:
    return estimates.estimate(enterprise_ids=enterprise_ids)["estimated"]


def accounts_changed(enterprise_ids: set[int] | None, periods: set[int] | None) -> None:
    """Accounting's change signal (in the writer's transaction): queue the refresh."""
    enqueue("factors.estimates_refresh",
            enterprise_ids=sorted(enterprise_ids) if enterprise_ids is not None else None)
