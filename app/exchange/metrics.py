"""Exchange figures in the platform's Prometheus registry."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from app.platform.metrics import REGISTRY

EXCHANGES = Counter("cecp_exchange_total", "Inbound and outbound exchanges",
                    ["channel", "operation", "status"], registry=REGISTRY)
ROWS = Counter("cecp_exchange_rows_total", "Rows accepted by exchanges",
               ["channel", "operation"], registry=REGISTRY)
SECONDS = Histogram("cecp_exchange_seconds", "Exchange duration", ["channel"],
                    registry=REGISTRY,
                    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120))


def observe(*, channel: str, operation: str, status: str, rows: int, seconds: float) -> None:
    EXCHANGES.labels(channel, operation, status).inc()
    if rows:
        ROWS.labels(channel, operation).inc(rows)
    SECONDS.labels(channel).observe(seconds)
