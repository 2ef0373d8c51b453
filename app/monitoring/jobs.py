"""Background jobs: `monitoring.refresh` (the accounting side enqueues it with the
enterprise ids and months it recomputed) and `monitoring.sweep` (catch up on anything the
hook missed; the worker or a read enqueues it)."""

from __future__ import annotations

from app.jobs.registry import job
from app.monitoring import facts


@job("monitoring.refresh")
def refresh(enterprise_ids: list[int] | None = None, periods: list[int] | None = None) -> int:
    """Rebuild the facts of these enterprise-months (None: all) from the current accounts."""
    return facts.refresh_facts(enterprise_ids, periods)


@job("monitoring.sweep")
def sweep() -> int:
    """Fold in every carbon account written since the last watermark."""
    return facts.catch_up()
