"""Prometheus metrics (R-8.1e): requests and latency per endpoint, queue depth, DB pool."""

from __future__ import annotations

import time

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("cecp_http_requests_total", "HTTP requests",
                   ["endpoint", "method", "status"], registry=REGISTRY)
LATENCY = Histogram("cecp_http_request_seconds", "HTTP request latency",
                    ["endpoint", "method"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
QUEUE_DEPTH = Gauge("cecp_job_queue_depth", "Jobs waiting", ["queue"], registry=REGISTRY)
OUTBOX_PENDING = Gauge("cecp_outbox_pending", "Outbox rows not yet dispatched",
                       registry=REGISTRY)
OUTBOX_JOBS = Gauge("cecp_outbox_jobs", "Outbox rows by status (depth: pending, dispatched, "
                    "running)", ["status"], registry=REGISTRY)
OUTBOX_DEAD = Gauge("cecp_outbox_dead_letters", "Jobs out of attempts, waiting for an "
                    "administrator", registry=REGISTRY)
QUEUE_WAIT = Histogram("cecp_overload_queue_wait_seconds", "Time a request waited at the "
                       "overload gate", ["priority"], registry=REGISTRY,
                       buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5))
SHED = Counter("cecp_overload_rejected_total", "Requests refused with 503 by the overload gate",
               ["priority"], registry=REGISTRY)
INFLIGHT = Gauge("cecp_overload_inflight", "Requests in flight in this worker", ["state"],
                 registry=REGISTRY)
ALERTS = Gauge("cecp_alert_active", "Self-monitoring alerts firing (1) or not (0)", ["alert"],
               registry=REGISTRY)
DB_POOL = Gauge("cecp_db_pool", "Database connection pool", ["state"], registry=REGISTRY)


def init_app(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.cecp_t0 = time.perf_counter()

    @app.after_request
    def _observe(response):
        t0 = g.pop("cecp_t0", None)
        endpoint = request.endpoint or "unmatched"
        if t0 is not None:
            LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - t0)
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        return response


def render() -> bytes:
    from flask import current_app

    from app.extensions import db
    from app.jobs import queues
    from app.jobs.service import counts

    by_status = counts()
    OUTBOX_PENDING.set(by_status.get("pending", 0))
    for status in ("pending", "dispatched", "running", "dead"):
        OUTBOX_JOBS.labels(status).set(by_status.get(status, 0))
    OUTBOX_DEAD.set(by_status.get("dead", 0))
    pool = db.engine.pool
    for state in ("size", "checkedin", "checkedout", "overflow"):
        fn = getattr(pool, state, None)
        if callable(fn):
            try:
                DB_POOL.labels(state).set(fn())
            except Exception:  # SQLite's pools lack some counters
                pass
    guard = current_app.extensions.get("cecp_overload")
    if guard is not None:
        INFLIGHT.labels("running").set(guard.gate.inflight)
        INFLIGHT.labels("waiting").set(guard.gate.waiting)
    if current_app.config.get("CECP_REDIS_URL"):
        try:
            for q in queues.all_queues():
                QUEUE_DEPTH.labels(q.name).set(q.count)
        except Exception:
            pass
    from app.platform import alerts

    alerts.evaluate()  # sets cecp_alert_active{alert=...}
    return generate_latest(REGISTRY)
