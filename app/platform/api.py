"""GET /api/v1/health and /api/v1/metrics (no login: load balancers and Prometheus)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_smorest import Blueprint
from prometheus_client import CONTENT_TYPE_LATEST

from app.platform import health, metrics

blp = Blueprint("platform_api", __name__, url_prefix="/api/v1", description="平台 Platform")


_HEALTH = {"application/json": {"schema": {
    "type": "object", "required": ["status", "components"],
    "properties": {"status": {"type": "string"}, "components": {"type": "object"}},
    "additionalProperties": True}}}


@blp.route("/health")
@blp.doc(responses={"200": {"description": "every required component is up",
                            "content": _HEALTH},
                    "503": {"description": "a required component is down",
                            "content": _HEALTH}})
def get_health():
    """Liveness and readiness of every component this node uses."""
    ready, body = health.check()
    return jsonify(body), 200 if ready else 503


@blp.route("/metrics")
@blp.doc(responses={"200": {"description": "Prometheus text exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}}}})
def get_metrics():
    """Prometheus text format."""
    return Response(metrics.render(), mimetype=CONTENT_TYPE_LATEST)
