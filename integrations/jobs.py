"""Scheduled intermediate-database syncs."""

from __future__ import annotations

from app.jobs.periodic import every
from app.jobs.registry import job


@job("exchange.sync")
def sync_all(name: str | None = None) -> list[dict]:
    """Every mapping whose source exists (or the one named)."""
    from integrations import etl

    names = [name] if name else [n for n, m in etl.mappings().items()
                                 if etl.source_available(m)]
    return [etl.sync(n) for n in names]


every(900, "exchange.sync")
