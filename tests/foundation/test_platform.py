"""R-5.5 / R-8.1e health and metrics; friendly error pages; OpenAPI document."""


def test_health_reports_db_redis_and_worker(app, client, redis_url):
    app.config["CECP_REDIS_URL"] = redis_url
    try:
        body = client.get("/api/v1/health").get_json()
        assert body["components"]["database"]["ok"] is True
        assert body["components"]["redis"]["ok"] is True
        assert body["components"]["worker"]["ok"] is False  # no worker runs in this test
        assert body["status"] == "ok"  # the worker is not required by default
        app.config["CECP_HEALTH_REQUIRE_WORKER"] = True
        r = client.get("/api/v1/health")
        assert r.status_code == 503 and r.get_json()["status"] == "unavailable"
    finally:
        app.config["CECP_HEALTH_REQUIRE_WORKER"] = False
        app.config["CECP_REDIS_URL"] = None


def test_health_is_503_when_redis_is_down(app, client):
    app.config["CECP_REDIS_URL"] = "redis://127.0.0.1:6399/0"
    try:
        r = client.get("/api/v1/health")
        assert r.status_code == 503
        assert r.get_json()["components"]["redis"]["ok"] is False
        assert r.get_json()["services"]["workflow"]["ok"] is False
    finally:
        app.config["CECP_REDIS_URL"] = None


def test_metrics_prometheus_text(client):
    client.get("/")
    client.get("/api/v1/health")
    r = client.get("/api/v1/metrics")
    assert r.status_code == 200 and r.mimetype.startswith("text/plain")
    text = r.get_data(as_text=True)
    assert 'cecp_http_requests_total{endpoint="web.index",method="GET",status="200"}' in text
    assert "cecp_http_request_seconds_bucket" in text
    assert "cecp_outbox_pending" in text and "cecp_db_pool" in text


def test_friendly_error_pages(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "资源不存在" in r.get_data(as_text=True)
    r = client.get("/api/v1/no-such")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "404"


def test_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/auth/token" in spec["paths"]
    assert "/api/v1/enterprises/{uscc}" in spec["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/" in docs.get_data(as_text=True)


def test_english_is_switchable(client):
    r = client.get("/?lang=en")
    assert r.status_code == 200
    assert "Home" in r.get_data(as_text=True)
    r = client.get("/lang/zh")
    assert "首页" in client.get("/").get_data(as_text=True)


def test_governance_view_takes_a_node_offline_and_back(client, make_user, db):
    from sqlalchemy import select

    from app.audit.models import AuditRecord
    from app.platform import nodes
    from tests.conftest import enrol_totp, login

    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    app = client.application
    app.extensions.pop("cecp_heartbeat", None)
    page = client.get("/admin/services/")
    assert page.status_code == 200
    me = nodes.node_id("web")
    assert me in page.get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    forged = client.post("/admin/services/", data={"node": me, "status": "offline"})
    assert forged.status_code == 400  # no CSRF token: refused
    r = client.post("/admin/services/", data={"node": me, "status": "offline",
                                              "csrf_token": token})
    assert r.status_code == 302
    h = client.get("/api/v1/health")
    assert h.status_code == 503 and h.get_json()["components"]["node"]["ok"] is False
    client.post("/admin/services/", data={"node": me, "status": "online", "csrf_token": token})
    assert client.get("/api/v1/health").status_code == 200
    acts = db.session.scalars(select(AuditRecord.summary).where(
        AuditRecord.action == "service.node_status")).all()
    assert len(acts) == 2
