"""R-5.4 / R-8.1e: the platform's self-checks and their page, the shipped Prometheus rules,
and who may read the metrics and the detailed health."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.conftest import enrol_totp, login

RULES = Path(__file__).resolve().parents[2] / "ops" / "prometheus" / "alerts.yml"


def _firing(name: str) -> bool:
    from app.platform import alerts

    return {a.name: a.firing for a in alerts.evaluate()}[name]


def test_public_health_says_only_up_or_down(client, app):
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    r = client.get("/api/v1/health", environ_base=outside)
    assert r.status_code == 200 and r.get_json() == {"status": "up"}
    assert client.get("/api/v1/metrics", environ_base=outside).status_code == 403
    # through a proxy, the proxy's own (allowed) address does not count
    r = client.get("/api/v1/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 403
    app.config["CECP_METRICS_TOKEN"] = "mon-token-123456"
    try:
        r = client.get(
            "/api/v1/metrics",
            environ_base=outside,
            headers={"Authorization": "Bearer mon-token-123456"},
        )
        assert r.status_code == 200 and "cecp_http_requests_total" in r.get_data(as_text=True)
        r = client.get(
            "/api/v1/health", environ_base=outside, headers={"Authorization": "Bearer wrong"}
        )
        assert r.get_json() == {"status": "up"}
        r = client.get(
            "/api/v1/health",
            environ_base=outside,
            headers={"Authorization": "Bearer mon-token-123456"},
        )
        assert "components" in r.get_json()
    finally:
        app.config["CECP_METRICS_TOKEN"] = None
    assert "components" in client.get("/api/v1/health").get_json()  # this host: allowed


def test_dead_letters_and_queue_depth_raise_alerts(db, app):
    from app.jobs.models import OutboxJob

    assert not _firing("dead_letters")
    db.session.add(OutboxJob(name="jobs.probe", payload="{}", status="dead", attempts=5))
    for _ in range(3):
        db.session.add(OutboxJob(name="jobs.probe", payload="{}", status="pending"))
    db.session.commit()
    assert _firing("dead_letters")
    app.config["CECP_ALERT_QUEUE_DEPTH"] = 2
    try:
        assert _firing("queue_depth")
    finally:
        app.config["CECP_ALERT_QUEUE_DEPTH"] = 500


def test_periodic_audit_verification_catches_a_tampered_record(db):
    from sqlalchemy import update

    from app.audit import service as audit
    from app.audit.models import AuditRecord
    from app.jobs import periodic
    from app.platform.alerts import AUDIT_JOB

    for i in range(3):
        audit.record("bench.event", object_type="thing", object_id=i, email="a@t.cecp")
    db.session.commit()
    assert periodic.tick() and not _firing("audit_chain")  # ran and passed
    db.session.execute(
        update(AuditRecord).where(AuditRecord.seq == 2).values(summary='{"forged": true}')
    )
    db.session.commit()
    from app.jobs.models import JobSchedule

    db.session.execute(
        update(JobSchedule).where(JobSchedule.name == AUDIT_JOB).values(next_at=None)
    )
    db.session.commit()
    assert AUDIT_JOB not in periodic.tick()  # it ran and failed: the error stays on its row
    assert db.session.get(JobSchedule, AUDIT_JOB).last_error
    assert _firing("audit_chain")


def test_many_refusals_from_one_source_raise_an_alert(db, app):
    from app.audit import service as audit

    app.config["CECP_ALERT_REFUSALS"] = 5
    try:
        for i in range(3):
            audit.record(
                "job.refused", object_type="outbox_job", object_id=i, email="mallory@t.cecp"
            )
        db.session.commit()
        assert not _firing("refusals")
        # an aggregated record counts its `count`
        audit.record(
            "access.refused",
            object_type="page",
            object_id="x",
            email="mallory@t.cecp",
            summary={"count": 4},
        )
        db.session.commit()
        assert _firing("refusals")
    finally:
        app.config["CECP_ALERT_REFUSALS"] = 20


def test_alerts_page_in_the_platform_layout(client, make_user, db):
    from app.jobs.models import OutboxJob

    db.session.add(OutboxJob(name="jobs.probe", payload="{}", status="dead", attempts=5))
    db.session.commit()
    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    page = client.get("/admin/alerts/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "平台告警" in html
    assert re.search(r'id="alert-dead_letters" class="table-danger"', html)
    assert "磁盘空间" in html and "审计链校验" in html
    anon = client.application.test_client()
    assert anon.get("/admin/alerts/").status_code in (302, 403)


def test_prometheus_rules_parse_and_name_exported_metrics(client):
    rules = yaml.safe_load(RULES.read_text())
    exported = client.get("/api/v1/metrics").get_data(as_text=True)
    names = set(re.findall(r"^# TYPE (\w+) ", exported, re.M))
    families = names | {n + s for n in names for s in ("_total", "_bucket", "_count", "_sum")}
    alerts_seen = set(re.findall(r'cecp_alert_active\{alert="(\w+)"\}', exported))
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"] and rule["expr"] and rule["labels"]["severity"]
            for metric in re.findall(r"\b(cecp_\w+)", rule["expr"]):
                assert metric in families, f"{rule['alert']}: {metric} is not exported"
            for name in re.findall(r'alert="(\w+)"', rule["expr"]):
                assert name in alerts_seen, f"{rule['alert']}: no alert {name}"
    assert json.dumps(rules)  # plain data, nothing Python-specific
