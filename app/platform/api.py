"""GET /api/v1/health and /api/v1/metrics (no login: load balancers and Prometheus)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_smorest import Blueprint
from prometheus_client import CONTENT_TYPE_LATEST

from app.platform import health, metrics

blp = Blueprint("platform_api", __name__, url_prefix="/api/v1", description="平台 Platform")


@blp.route("/health")
@blp.doc(responses={"503": {"description": "a required component is down"}})
def get_health():
    """Liveness and readiness of every component this node uses."""
    ready, body = health.check()
    return jsonify(body), 200 if ready else 503


@blp.route("/metrics")
def get_metrics():
    """Prometheus text format."""
    return Response(metrics.render(), mimetype=CONTENT_TYPE_LATEST)
