"""Scheduled intermediate-database syncs."""

from __future__ import annotations

from app.jobs import periodic
from app.jobs.registry import job


@job("exchange.sync")
def sync_all(name: str | None = None) -> list[dict]:
    """Every mapping whose source exists (or the one named)."""
    from integrations import etl

    names = [name] if name else [n for n, m in etl.mappings().items()
                                 if etl.source_available(m)]
    return [etl.sync(n) for n in names]


periodic.register("exchange.sync", every="CECP_EXCHANGE_SYNC_SECONDS", default=900,
                  run=sync_all)
