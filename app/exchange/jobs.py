"""Background jobs of the exchange: partitions ahead, retention, file imports, syncs."""

from __future__ import annotations

from app.jobs import periodic
from app.jobs.registry import job


@job("exchange.partitions")
def maintain_partitions() -> dict:
    """Create next months' reading partitions; drop those past the retention; trim the
    hourly rollups past theirs (R-8.7 storage period per resolution)."""
    from app.exchange import partitions, retention

    made = partitions.ensure_ahead()
    dropped = partitions.drop_expired()
    trimmed = retention.trim_rollups()
    return {"made": made, "dropped": dropped, "trimmed": trimmed}


@job("exchange.monthly_lines")
def monthly_lines(*, items: list[dict]) -> int:
    """Re-derive the meter-sourced monthly energy lines of these enterprise-months."""
    from app.exchange import monthly

    n = 0
    for it in items:
        n += monthly.apply(enterprise_id=int(it["enterprise_id"]), year=int(it["year"]),
                           month=int(it["month"])) is not None
    return n


periodic.register("exchange.partitions", every="CECP_EXCHANGE_PARTITION_SECONDS",
                  default=6 * 3600, run=maintain_partitions)
