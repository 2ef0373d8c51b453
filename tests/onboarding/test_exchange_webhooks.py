"""Exchange webhooks against a real HTTP server on 127.0.0.1: signed deliveries of
`lot.certified` and `transfer.requested`, retried with exponential backoff through the job
queue until delivered or dead, a delivery log and redelivery, and isolation."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.onboarding.exchange_models import WebhookDelivery
from tests.onboarding.exchange_world import (
    enterprise_with_lot,
    exchange_account,
    org_admin,
    transfer,
)

BASE = "/api/v1/onboarding/exchange"


class Receiver:
    """Records every request; answers 500 to the first `fail` requests of each delivery
    (and always on /down)."""

    def __init__(self, fail: int) -> None:
        self.fail, self.calls, self.lock = fail, [], threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    delivery = self.headers["X-CECP-Delivery"]
                    seen = sum(1 for c in outer.calls if c["delivery"] == delivery)
                    outer.calls.append({"path": self.path, "delivery": delivery,
                                        "at": time.monotonic(), "body": body,
                                        "headers": dict(self.headers)})
                ok = self.path != "/down" and seen >= outer.fail
                self.send_response(200 if ok else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver():
    r = Receiver(fail=2)
    yield r
    r.close()


@pytest.fixture()
def fast(app, monkeypatch):
    for k, v in {"CECP_WEBHOOK_ALLOW_HTTP_LOCAL": True, "CECP_WEBHOOK_BACKOFF_SECONDS": 0.3,
                 "CECP_WEBHOOK_MAX_ATTEMPTS": 4, "CECP_WEBHOOK_TIMEOUT_SECONDS": 3}.items():
        monkeypatch.setitem(app.config, k, v)


def _settle(reference, *, until, timeout: float = 20.0) -> None:
    """Run due jobs (as the embedded ticker would) until `until()` holds."""
    from app.jobs.outbox import dispatch_pending

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatch_pending()
        reference.session.expire_all()
        if until():
            return
        time.sleep(0.1)
    raise AssertionError("deliveries did not settle")


def _verify(secret: str, header: str, body: bytes) -> bool:
    """The documented recipe, written out as a receiver would."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def test_signed_deliveries_retried_then_delivered(client, reference, onboard, make_user, auth,
                                                  receiver, fast):
    org_a, _, h_a = org_admin(client, reference, onboard, "exchange")
    org_b, _, h_b = org_admin(client, reference, onboard, "exchange")
    ent, project, holding, lot = enterprise_with_lot(reference)
    h_ent = auth(make_user("enterprise", enterprise=ent.uscc))
    x_a = exchange_account(reference, org_a)

    for bad in ("http://example.com/hook", "https://10.1.2.3/hook", "ftp://x.cn/h",
                "https://user:pw@x.cn/h", "not a url"):
        r = client.post(f"{BASE}/webhooks", headers=h_a, json={"url": bad})
        assert r.status_code == 422 and "url" in r.get_json()["error"]["fields"], bad
    r = client.post(f"{BASE}/webhooks", headers=h_a, json={"url": receiver.url + "/hook",
                                                           "events": ["nope"]})
    assert r.status_code == 422 and "events" in r.get_json()["error"]["fields"]
    r = client.post(f"{BASE}/webhooks", headers=h_a, json={"url": receiver.url + "/hook"})
    assert r.status_code == 201
    secret, hook = r.get_json()["secret"], r.get_json()["id"]
    assert secret.startswith("whsec_")
    assert "secret" not in client.get(f"{BASE}/webhooks", headers=h_a).get_json()["items"][0]

    transfer(client, h_ent, lot=lot, holding=holding, to=x_a, quantity=30)

    def done():
        rows = reference.session.scalars(select(WebhookDelivery)).all()
        return len(rows) == 2 and all(d.status == "delivered" for d in rows)

    _settle(reference, until=done)
    log = client.get(f"{BASE}/deliveries", headers=h_a).get_json()["items"]
    assert sorted(d["event"] for d in log) == ["lot.certified", "transfer.requested"]
    for d in log:
        assert d["attempts"] == 3 and d["last_status_code"] == 200 and d["delivered_at"]
        calls = [c for c in receiver.calls if c["delivery"] == d["id"]]
        assert len(calls) == 3
        # exponential backoff: 0.3 s, then 0.6 s (rq-less: the outbox's run_at)
        gaps = [b["at"] - a["at"] for a, b in zip(calls, calls[1:], strict=False)]
        assert gaps[0] >= 0.25 and gaps[1] >= 0.55, gaps
        for c in calls:
            assert _verify(secret, c["headers"]["X-CECP-Signature"], c["body"])
            assert not _verify("whsec_wrong", c["headers"]["X-CECP-Signature"], c["body"])
            assert c["headers"]["X-CECP-Event"] == d["event"]
    body = json.loads(next(c["body"] for c in receiver.calls
                           if c["headers"]["X-CECP-Event"] == "transfer.requested"))
    assert body["data"]["quantity_t"] == 30 and body["data"]["to_account"] == x_a.code
    assert body["data"]["serial_start"] == "PVX-2025-000000001"
    lot_body = json.loads(next(c["body"] for c in receiver.calls
                               if c["headers"]["X-CECP-Event"] == "lot.certified"))
    assert lot_body["data"]["project"]["code"] == "PVX" and lot_body["data"]["vintage"] == 2025

    # a second transfer of the same lot: a new transfer.requested, no second lot.certified
    transfer(client, h_ent, lot=lot, holding=holding, to=x_a, quantity=5)
    _settle(reference, until=lambda: reference.session.query(WebhookDelivery).filter_by(
        status="delivered").count() == 3)
    assert reference.session.query(WebhookDelivery).count() == 3

    # tampering a body breaks the signature
    c = receiver.calls[-1]
    assert not _verify(secret, c["headers"]["X-CECP-Signature"], c["body"] + b" ")

    # another exchange sees none of this, and cannot touch it
    assert client.get(f"{BASE}/deliveries", headers=h_b).get_json()["items"] == []
    assert client.get(f"{BASE}/webhooks", headers=h_b).get_json()["items"] == []
    assert client.get(f"{BASE}/deliveries?webhook={hook}", headers=h_b).status_code == 404
    assert client.post(f"{BASE}/deliveries/{log[0]['id']}/redeliver",
                       headers=h_b).status_code == 404
    assert client.post(f"{BASE}/webhooks/{hook}/disable", headers=h_b).status_code == 404
    assert client.get(f"{BASE}/deliveries", headers=h_ent).status_code == 403


def test_dead_after_max_attempts_then_redelivered(client, reference, onboard, receiver, fast,
                                                  app):
    from app.trading import ledger

    org_a, _, h_a = org_admin(client, reference, onboard, "exchange")
    ent, project, holding, _lot = enterprise_with_lot(reference)
    x_a = exchange_account(reference, org_a)
    r = client.post(f"{BASE}/webhooks", headers=h_a, json={
        "url": receiver.url + "/down", "events": ["lot.certified"]})
    assert r.status_code == 201
    hook = r.get_json()["id"]
    # a lot issued straight to the exchange's account is `lot.certified` for it
    ledger.issue(project=project, vintage=2026, quantity=10, to_account=x_a)
    from app.uow import commit

    commit()
    _settle(reference, until=lambda: reference.session.scalar(
        select(WebhookDelivery.status)) == "dead")
    d = client.get(f"{BASE}/deliveries?webhook={hook}", headers=h_a).get_json()["items"][0]
    assert d["status"] == "dead" and d["attempts"] == 4 and d["last_status_code"] == 500
    assert len([c for c in receiver.calls if c["delivery"] == d["id"]]) == 4
    assert reference.session.scalar(select(AuditRecord.id).where(
        AuditRecord.action == "webhook.dead")) is not None

    # the endpoint is repaired: redeliver gets a fresh set of attempts
    receiver.fail = 0
    app.config["CECP_WEBHOOK_ALLOW_HTTP_LOCAL"] = True
    from app.onboarding.exchange_models import WebhookEndpoint

    ep = reference.session.scalar(select(WebhookEndpoint))
    ep.url = receiver.url + "/hook"
    reference.session.commit()
    r = client.post(f"{BASE}/deliveries/{d['id']}/redeliver", headers=h_a)
    assert r.status_code == 202
    _settle(reference, until=lambda: reference.session.scalar(
        select(WebhookDelivery.status)) == "delivered")
    d = client.get(f"{BASE}/deliveries", headers=h_a).get_json()["items"][0]
    assert d["status"] == "delivered" and d["attempts"] == 1
    # a disabled endpoint gets nothing and cannot be redelivered to
    assert client.post(f"{BASE}/webhooks/{hook}/disable", headers=h_a).status_code == 200
    assert client.post(f"{BASE}/deliveries/{d['id']}/redeliver",
                       headers=h_a).status_code == 409
    ledger.issue(project=project, vintage=2027, quantity=10, to_account=x_a)
    commit()
    assert reference.session.query(WebhookDelivery).count() == 1
    actions = {a for (a,) in reference.session.execute(select(AuditRecord.action).where(
        AuditRecord.action.like("webhook.%")))}
    assert {"webhook.register", "webhook.attempt", "webhook.dead", "webhook.redeliver",
            "webhook.disable"} <= actions


def test_exchange_page_shows_key_once_and_manages_webhooks(client, reference, onboard, receiver,
                                                           fast, make_user):
    from tests.conftest import login
    from tests.onboarding.exchange_world import PW

    org_a, admin_a, _ = org_admin(client, reference, onboard, "exchange")
    assert login(client, admin_a, password=PW).status_code in (302, 303)
    page = client.get("/onboarding/exchange")
    assert page.status_code == 200 and "API 密钥" in page.get_data(as_text=True)
    r = client.post("/onboarding/exchange", data={"action": "create_key", "label": "web-1",
                                                  "scopes": ["lots.read", "holdings.read"]})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="shown-value">cecp_' in html
    assert 'id="shown-value"' not in client.get("/onboarding/exchange").get_data(as_text=True)
    r = client.post("/onboarding/exchange", data={"action": "create_key", "label": "x y"})
    assert r.status_code == 422 and 'data-field="label"' in r.get_data(as_text=True)
    r = client.post("/onboarding/exchange", data={"action": "create_webhook",
                                                  "url": receiver.url + "/hook",
                                                  "events": ["transfer.requested"]})
    assert r.status_code == 200 and "whsec_" in r.get_data(as_text=True)
    assert receiver.url in client.get("/onboarding/exchange").get_data(as_text=True)
    # the workspace links to it; a bank member cannot open it
    assert 'id="exchange-link"' in client.get("/onboarding/workspace").get_data(as_text=True)
    client.post("/auth/logout")
    _bank, bank_admin, _ = org_admin(client, reference, onboard, "bank")
    login(client, bank_admin, password=PW)
    assert client.get("/onboarding/exchange").status_code == 403


def test_a_name_resolving_inside_is_refused_at_delivery(client, reference, onboard, fast,
                                                        receiver):
    """An https name that resolves to this machine (or any internal address) is never
    contacted: each attempt is recorded as refused and the delivery ends dead."""
    from app.trading import ledger
    from app.uow import commit

    org_a, _, h_a = org_admin(client, reference, onboard, "exchange")
    _ent, project, _holding, _lot = enterprise_with_lot(reference)
    x_a = exchange_account(reference, org_a)
    port = receiver.url.rsplit(":", 1)[1]
    r = client.post(f"{BASE}/webhooks", headers=h_a,
                    json={"url": f"https://localhost:{port}/hook"})
    assert r.status_code == 201  # a host name is accepted when registered ...
    ledger.issue(project=project, vintage=2026, quantity=3, to_account=x_a)
    commit()
    _settle(reference, until=lambda: reference.session.scalar(
        select(WebhookDelivery.status)) == "dead")
    d = client.get(f"{BASE}/deliveries", headers=h_a).get_json()["items"][0]
    assert d["attempts"] == 4 and d["last_status_code"] is None and "内网" in d["last_error"]
    assert receiver.calls == []  # ... but never contacted
