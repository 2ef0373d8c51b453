"""GET /api/v1/health and /api/v1/metrics (no login: load balancers and Prometheus).

The public health answer says only up or down; the components, the metrics and the alerts
answer to the monitoring token or network only (`app.platform.access`)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_smorest import Blueprint
from prometheus_client import CONTENT_TYPE_LATEST

from app.platform import access, health, metrics

blp = Blueprint("platform_api", __name__, url_prefix="/api/v1", description="平台 Platform")


_HEALTH = {"application/json": {"schema": {
    "type": "object", "required": ["status"],
    "properties": {"status": {"type": "string"}, "components": {"type": "object"}},
    "additionalProperties": True}}}


@blp.route("/health")
@blp.doc(responses={"200": {"description": "every required component is up",
                            "content": _HEALTH},
                    "503": {"description": "a required component is down",
                            "content": _HEALTH}})
def get_health():
    """Up or down; with the monitoring token or from an allowed network, every component."""
    ready, body = health.check()
    if not access.monitoring_allowed():
        body = {"status": "up" if ready else "down"}
    return jsonify(body), 200 if ready else 503


@blp.route("/metrics")
@blp.doc(responses={"200": {"description": "Prometheus text exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "403": {"description": "neither the monitoring token nor network"}})
def get_metrics():
    """Prometheus text format (monitoring token or allowed network)."""
    if not access.monitoring_allowed():
        message = "需要监控令牌或来自允许的网络 (monitoring token or network)"
        return jsonify({"error": {"code": "403", "message": message}}), 403
    return Response(metrics.render(), mimetype=CONTENT_TYPE_LATEST)
