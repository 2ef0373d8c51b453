"""Signed webhooks for exchanges (R-6.5.2): `lot.certified` and `transfer.requested`.

An event becomes one `WebhookDelivery` per subscribed endpoint of the exchange, written in
the transaction of the ledger change, with a delivery job on the outbox: it is sent only if
the change commits. Each attempt is one job run: a 2xx answer delivers it; anything else is
recorded (status code or error) and the next attempt is enqueued after an exponential
backoff, until `CECP_WEBHOOK_MAX_ATTEMPTS`, when the delivery is dead. The job records the
attempt and returns (it does not raise), so the log the exchange sees keeps every failure.

Signature: `X-CECP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`
(the scheme Stripe documents, so receivers know it). No commits here."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.jobs import outbox
from app.onboarding.exchange_models import EVENTS, WebhookDelivery, WebhookEndpoint
from app.onboarding.models import Application
from app.onboarding.service import ApplicationError

JOB = "exchange.webhook_deliver"
SIGNATURE_HEADER = "X-CECP-Signature"
MAX_ENDPOINTS = 10
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULTS = {"CECP_WEBHOOK_MAX_ATTEMPTS": 6, "CECP_WEBHOOK_BACKOFF_SECONDS": 30,
            "CECP_WEBHOOK_BACKOFF_MAX_SECONDS": 3600, "CECP_WEBHOOK_TIMEOUT_SECONDS": 5}


def setting(name: str) -> float:
    value = current_app.config.get(name)
    if value is None or value == "":
        value = os.environ.get(name) or DEFAULTS[name]
    return float(value)


def _flag(name: str) -> bool:
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name, "")
    return str(value).lower() in ("1", "true", "yes", "on")


def _allow_local_http() -> bool:
    return _flag("CECP_WEBHOOK_ALLOW_HTTP_LOCAL")


def _internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved \
        or ip.is_multicast or ip.is_unspecified


def _resolves_inside(host: str) -> bool:
    """Whether a host name resolves to an internal address (checked at each attempt, so a
    name that later points inside is refused too). `CECP_WEBHOOK_ALLOW_PRIVATE` allows it,
    for an intranet where exchanges' receivers have private addresses."""
    import socket

    if _flag("CECP_WEBHOOK_ALLOW_PRIVATE"):
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # the request itself will fail and be recorded
    return any(_internal(ipaddress.ip_address(i[4][0].split("%")[0])) for i in infos)


def validate_url(url: Any) -> str:
    """HTTPS with a host name, no credentials in it; plain HTTP only to this machine and
    only where `CECP_WEBHOOK_ALLOW_HTTP_LOCAL` allows it (tests, development). An HTTPS
    address given as a private or loopback IP literal is refused (no probing inside)."""
    url = url.strip() if isinstance(url, str) else ""
    bad = ApplicationError({"url": "回调地址须为 https:// 开头的有效网址（不超过 500 字符）"})
    if not url or len(url) > 500 or any(c.isspace() for c in url):
        raise bad
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad from None
    host = parts.hostname or ""
    if not host or parts.username or parts.password or port == 0:
        raise bad
    if parts.scheme == "http" and host in LOCAL_HOSTS and _allow_local_http():
        return url
    if parts.scheme != "https":
        raise bad
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return url
    if _internal(ip) and not _flag("CECP_WEBHOOK_ALLOW_PRIVATE"):
        raise ApplicationError({"url": "回调地址不能是内网或本机地址"})
    return url


def _events(events: Any) -> list[str]:
    if events is None:
        return list(EVENTS)
    if isinstance(events, str):
        events = [e for e in events.split(",") if e]
    if not isinstance(events, list) or not events or not all(
            isinstance(e, str) and e in EVENTS for e in events):
        raise ApplicationError({"events": "事件须为 " + "、".join(EVENTS) + " 中的一项或多项"})
    return [e for e in EVENTS if e in events]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body,
                    hashlib.sha256).hexdigest()


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300,
           now: float | None = None) -> bool:
    """The receiver's check (also the documented recipe): recompute over "<t>." + raw body,
    compare in constant time, refuse a timestamp older than `tolerance` seconds."""
    try:
        fields = dict(p.split("=", 1) for p in header.split(","))
        t = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - t) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, t, body), fields.get("v1", ""))


# -- endpoints (the exchange's administrator) ---------------------------------------------------

def _own(org: Application | None) -> Application:
    if org is None or org.kind != "exchange" or org.status != "active":
        raise ApplicationError({"organisation": "只有已开通交易所的机构管理员可以管理回调"},
                               status=403)
    return org


def list_for(org: Application) -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.organisation_code == org.uscc).order_by(WebhookEndpoint.id.desc())))


def get(org: Application | None, *, uid: str) -> WebhookEndpoint:
    org = _own(org)
    ep = db.session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.uid == (uid or ""), WebhookEndpoint.organisation_code == org.uscc))
    if ep is None:
        raise ApplicationError({"webhook": "回调端点不存在或不属于本机构"}, status=404)
    return ep


def register(org: Application | None, *, url: Any, events: Any,
             by: str | None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint; returns it and its signing secret (shown once)."""
    org = _own(org)
    url, chosen = validate_url(url), _events(events)
    if sum(1 for e in list_for(org) if e.active) >= MAX_ENDPOINTS:
        raise ApplicationError({"url": f"每个机构最多 {MAX_ENDPOINTS} 个启用的回调端点"},
                               status=409)
    secret = "whsec_" + secrets.token_urlsafe(32)
    ep = WebhookEndpoint(organisation_code=org.uscc, url=url, events=",".join(chosen),
                         active=True, created_by=by)
    ep.secret = secret
    db.session.add(ep)
    db.session.flush()
    audit.record("webhook.register", object_type="exchange_webhook", object_id=ep.id,
                 summary={"organisation": org.uscc, "url": url, "events": chosen, "by": by})
    return ep, secret


def set_active(org: Application | None, *, uid: str, active: bool,
               by: str | None) -> WebhookEndpoint:
    ep = get(org, uid=uid)
    if ep.active != active:
        ep.active, ep.disabled_reason = active, None if active else "机构管理员停用"
        audit.record("webhook.enable" if active else "webhook.disable",
                     object_type="exchange_webhook", object_id=ep.id,
                     summary={"organisation": ep.organisation_code, "by": by})
    return ep


def disable_all(*, org_code: str, reason: str) -> int:
    eps = db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.organisation_code == org_code, WebhookEndpoint.active.is_(True))).all()
    for ep in eps:
        ep.active, ep.disabled_reason = False, reason
        audit.record("webhook.disable", object_type="exchange_webhook", object_id=ep.id,
                     summary={"organisation": org_code, "reason": reason})
    return len(eps)


def deliveries(org: Application | None, *, endpoint_uid: str | None = None,
               limit: int = 100) -> list[WebhookDelivery]:
    org = _own(org)
    stmt = (select(WebhookDelivery).join(WebhookEndpoint)
            .where(WebhookEndpoint.organisation_code == org.uscc))
    if endpoint_uid:
        stmt = stmt.where(WebhookEndpoint.uid == endpoint_uid)
    return list(db.session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)))


def redeliver(org: Application | None, *, uid: str, by: str | None) -> WebhookDelivery:
    """Send a delivery again (a fresh set of attempts), whatever became of it."""
    org = _own(org)
    d = db.session.scalar(select(WebhookDelivery).join(WebhookEndpoint).where(
        WebhookDelivery.uid == (uid or ""), WebhookEndpoint.organisation_code == org.uscc))
    if d is None:
        raise ApplicationError({"delivery": "投递记录不存在或不属于本机构"}, status=404)
    if not d.endpoint.active:
        raise ApplicationError({"delivery": "回调端点已停用，请先启用"}, status=409)
    d.status, d.attempts, d.next_attempt_at = "pending", 0, None
    outbox.enqueue(JOB, delivery_id=d.id, attempt=1)
    audit.record("webhook.redeliver", object_type="exchange_webhook_delivery",
                 object_id=d.id, summary={"event": d.event, "by": by})
    return d


# -- events -------------------------------------------------------------------------------------

def emit(*, org_code: str, event: str, key: str, data: dict[str, Any]) -> int:
    """One delivery per active endpoint of the organisation subscribed to `event`; the same
    `key` twice for an endpoint is one delivery. Returns how many were created."""
    made = 0
    for ep in db.session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.organisation_code == org_code,
            WebhookEndpoint.active.is_(True))).all():
        if event not in ep.event_list or db.session.scalar(select(WebhookDelivery.id).where(
                WebhookDelivery.endpoint_id == ep.id, WebhookDelivery.event_key == key)):
            continue
        d = WebhookDelivery(endpoint_id=ep.id, event=event, event_key=key, body="",
                            status="pending", attempts=0)
        d.ensure_uid()
        d.body = json.dumps({"id": d.uid, "event": event,
                             "created_at": utcnow().isoformat(timespec="seconds") + "Z",
                             "organisation": org_code, "data": data},
                            ensure_ascii=False, sort_keys=True, default=str)
        db.session.add(d)
        db.session.flush()
        outbox.enqueue(JOB, delivery_id=d.id, attempt=1)
        made += 1
    return made


def _post(ep: WebhookEndpoint, d: WebhookDelivery) -> tuple[int | None, str | None]:
    import requests

    body = d.body.encode()
    t = int(time.time())
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "cecp-webhook/1", "X-CECP-Event": d.event,
               "X-CECP-Delivery": d.uid, SIGNATURE_HEADER: f"t={t},v1={sign(ep.secret, t, body)}"}
    parts = urlsplit(ep.url)
    host = parts.hostname or ""
    local_test = parts.scheme == "http" and host in LOCAL_HOSTS and _allow_local_http()
    if not local_test and _resolves_inside(host):
        return None, "回调地址解析为内网或本机地址，已拒绝发送"
    http = requests.Session()
    # this machine is never reached through a proxy the environment names
    http.trust_env = host not in LOCAL_HOSTS
    try:
        r = http.post(ep.url, data=body, headers=headers, allow_redirects=False,
                      timeout=setting("CECP_WEBHOOK_TIMEOUT_SECONDS"))
    except requests.RequestException as exc:
        return None, type(exc).__name__ + ": " + str(exc)[:250]
    finally:
        http.close()
    return r.status_code, None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"


def deliver(*, delivery_id: int, attempt: int) -> str | None:
    """One attempt (the job). A stale or replayed job (another attempt number, a finished
    delivery, a stopped endpoint) does nothing."""
    d = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                          .with_for_update())
    if d is None or d.status in ("delivered", "dead", "cancelled") or d.attempts != attempt - 1:
        return None
    ep = d.endpoint
    if not ep.active:
        d.status, d.last_error = "cancelled", ep.disabled_reason or "端点已停用"
        return d.status
    code, error = _post(ep, d)
    now = utcnow()
    d.attempts, d.last_attempt_at = attempt, now
    d.last_status_code, d.last_error = code, error
    if error is None:
        d.status, d.delivered_at, d.next_attempt_at = "delivered", now, None
    elif attempt >= int(setting("CECP_WEBHOOK_MAX_ATTEMPTS")):
        d.status, d.next_attempt_at = "dead", None
        audit.record("webhook.dead", object_type="exchange_webhook_delivery", object_id=d.id,
                     summary={"event": d.event, "attempts": attempt, "error": error})
    else:
        wait = min(setting("CECP_WEBHOOK_BACKOFF_MAX_SECONDS"),
                   setting("CECP_WEBHOOK_BACKOFF_SECONDS") * 2 ** (attempt - 1))
        d.status, d.next_attempt_at = "retrying", now + timedelta(seconds=wait)
        outbox.enqueue(JOB, run_at=d.next_attempt_at, delivery_id=d.id, attempt=attempt + 1)
    audit.record("webhook.attempt", object_type="exchange_webhook_delivery", object_id=d.id,
                 summary={"event": d.event, "attempt": attempt, "status_code": code,
                          "result": d.status})
    return d.status


def endpoint_json(ep: WebhookEndpoint) -> dict[str, Any]:
    return {"id": ep.uid, "url": ep.url, "events": ep.event_list, "active": ep.active,
            "disabled_reason": ep.disabled_reason, "created_by": ep.created_by,
            "created_at": ep.created_at.isoformat() + "Z"}


def delivery_json(d: WebhookDelivery) -> dict[str, Any]:
    iso = lambda v: v.isoformat() + "Z" if v else None  # noqa: E731
    return {"id": d.uid, "endpoint": d.endpoint.uid, "event": d.event, "status": d.status,
            "status_label": d.status_label, "attempts": d.attempts,
            "last_status_code": d.last_status_code, "last_error": d.last_error,
            "last_attempt_at": iso(d.last_attempt_at),
            "next_attempt_at": iso(d.next_attempt_at), "delivered_at": iso(d.delivered_at),
            "created_at": iso(d.created_at)}
