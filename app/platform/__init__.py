"""Service registry, health, metrics and overload guard (R-5.5, R-8.1)."""

from __future__ import annotations

from flask import Flask


def init_platform(app: Flask) -> None:
    from app.platform import metrics, nodes

    metrics.init_app(app)

    @app.before_request
    def _heartbeat() -> None:
        nodes.maybe_heartbeat("web")
