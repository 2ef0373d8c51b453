"""Rate limits (Flask-Limiter's storage and strategy: Redis when configured, else memory).

Rules, each a list of limits from configuration (docs/security.md):

- login (form, second factor, API token) by client address and by account: only failed
  attempts count, so a busy office behind one address still signs in; the account limit has
  tiers (5 a minute, 10 in 10 minutes, 20 an hour, 50 a day by default), so each further
  failure waits longer: growing delays without a lock anyone could trigger at will;
- password reset requests by address and by account;
- public (anonymous) pages by address; API clients by token or address.

A refused request gets 429 with `Retry-After` (a Chinese page, or the API's error shape) and
is counted among the audited refusals (`app.audit.refusals`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, request, session
from flask_limiter import Limiter
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

LOGIN_ENDPOINTS = {
    "security.login",
    "security.two_factor_token_validation",
    "security.us_signin",
    "auth_api.Token",
}
RESET_ENDPOINTS = {"security.forgot_password", "security.reset_password"}


@dataclass(frozen=True)
class Rule:
    name: str
    setting: str
    key: Callable[[], str | None]  # None: the rule does not apply to this request
    failures_only: bool = False


def _ip() -> str:
    return request.remote_addr or "-"


def _posted(name: str) -> str | None:
    if request.method != "POST":
        return None
    value = request.form.get(name)
    if value is None and request.is_json:
        body = request.get_json(silent=True)
        value = body.get(name) if isinstance(body, dict) else None
    return str(value).strip().lower() if value else None


def _login_ip() -> str | None:
    return _ip() if request.method == "POST" and request.endpoint in LOGIN_ENDPOINTS else None


def _login_account() -> str | None:
    if request.method != "POST" or request.endpoint not in LOGIN_ENDPOINTS:
        return None
    email = _posted("email") or _posted("identity")
    if email:
        return "e:" + email
    tf_user = session.get("tf_user_id")  # the second-factor step names no e-mail
    return f"u:{tf_user}" if tf_user else None


def _reset_ip() -> str | None:
    return _ip() if request.method == "POST" and request.endpoint in RESET_ENDPOINTS else None


def _reset_account() -> str | None:
    if request.method != "POST" or request.endpoint not in RESET_ENDPOINTS:
        return None
    email = _posted("email")
    return "e:" + email if email else None


def _public() -> str | None:
    from flask_security import current_user

    if request.path.startswith(("/static/", "/api/")) or request.endpoint == "static":
        return None
    if request.endpoint in LOGIN_ENDPOINTS | RESET_ENDPOINTS and request.method == "POST":
        return None  # their own rules
    return None if current_user.is_authenticated else _ip()


def _api() -> str | None:
    if not request.path.startswith("/api/") or request.endpoint in LOGIN_ENDPOINTS:
        return None
    token = request.headers.get(current_app.config["SECURITY_TOKEN_AUTHENTICATION_HEADER"])
    if token:
        return "t:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return "ip:" + _ip()


RULES = (
    Rule("login-ip", "CECP_RATELIMIT_LOGIN_IP", _login_ip, failures_only=True),
    Rule("login-account", "CECP_RATELIMIT_LOGIN_ACCOUNT", _login_account, failures_only=True),
    Rule("reset-ip", "CECP_RATELIMIT_RESET", _reset_ip),
    Rule("reset-account", "CECP_RATELIMIT_RESET", _reset_account),
    Rule("public", "CECP_RATELIMIT_PUBLIC", _public),
    Rule("api", "CECP_RATELIMIT_API", _api),
)


def _limiter() -> Limiter:
    return current_app.extensions["cecp_limiter"]


def _items(rule: Rule):
    return parse_many(current_app.config[rule.setting])


def _check():
    if not current_app.config.get("CECP_RATELIMIT_ENABLED", True):
        return None
    strategy = _limiter().limiter
    pending = []
    for rule in RULES:
        key = rule.key()
        if key is None:
            continue
        for item in _items(rule):
            if not strategy.test(item, rule.name, key):
                stats = strategy.get_window_stats(item, rule.name, key)
                import time

                raise RateLimited(retry_after=max(1, int(stats.reset_time - time.time()) + 1))
        if rule.failures_only:
            pending.append((rule, key))
        else:
            for item in _items(rule):
                strategy.hit(item, rule.name, key)
    g.cecp_ratelimit_pending = pending
    return None


def _failed(response) -> bool:
    if request.path.startswith("/api/"):
        return response.status_code >= 400
    return response.status_code not in (301, 302, 303)


def _count_failures(response):
    pending = g.pop("cecp_ratelimit_pending", None)
    if pending and _failed(response):
        strategy = _limiter().limiter
        for rule, key in pending:
            for item in _items(rule):
                strategy.hit(item, rule.name, key)
    return response


class RateLimited(TooManyRequests):
    description = "请求过于频繁，请稍后再试"


def reset_all() -> None:
    """Forget every counter (tests, or an operator after an incident)."""
    _limiter().reset()


def init_app(app: Flask) -> None:
    url = app.config.get("CECP_REDIS_URL")
    limiter = Limiter(
        key_func=lambda: request.remote_addr or "-",
        app=app,
        storage_uri=url or "memory://",
        strategy="fixed-window",
        key_prefix=app.config["CECP_QUEUE_PREFIX"] + "-rl",
        swallow_errors=True,
        in_memory_fallback_enabled=bool(url),
        headers_enabled=False,
    )
    app.extensions["cecp_limiter"] = limiter
    app.before_request(_check)
    app.after_request(_count_failures)
