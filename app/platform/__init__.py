"""Service registry, health, metrics and overload guard (R-5.5, R-8.1)."""

from __future__ import annotations

from flask import Flask


def init_platform(app: Flask) -> None:
    from app.platform import alerts, metrics, nodes, overload

    metrics.init_app(app)
    alerts.init_app(app)
    overload.install(app)

    @app.before_request
    def _heartbeat() -> None:
        nodes.maybe_heartbeat("web")
