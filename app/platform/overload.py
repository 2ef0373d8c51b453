"""Overload protection per node (R-8.1f): a bound on requests in flight and on queue wait.

Every request passes a gate in front of the Flask application (a WSGI middleware, so the
refusal costs no session load, no database and no template). At most `CECP_MAX_INFLIGHT`
requests of a worker process run at once; up to `CECP_MAX_QUEUE` more wait, each for at most
`CECP_MAX_QUEUE_WAIT` seconds. Beyond that the answer is an immediate 503 with
`Retry-After` and a Chinese page — never an unbounded queue (before this gate, 300
simultaneous logins waited a median 20 s). A request that was admitted always completes.

Waiters are served by priority, not arrival: signed-in users' work (an API token, or the
priority cookie set beside the session at sign-in: tasks, accounts, inbox) first, then
sign-ins (the login form and its POST), then anonymous pages; anonymous pages may also fill only half of the queue and
wait half as long, so that under pressure the platform spends its capacity on the people
already working. Machine clients (an `X-API-Key` on the API, a SOAP call) rank with
sign-ins: their batches are work, not browsing. Health checks and static files pass without
the gate (a load balancer must see the node, and static files are cheap).

The gunicorn configuration (`gunicorn.conf.py`) gives each worker at least
`CECP_MAX_INFLIGHT + CECP_MAX_QUEUE` threads, so a connection the server accepted reaches
this gate at once instead of waiting in the server's own queue.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from app.platform import metrics

SIGNED_IN, SIGN_IN, ANONYMOUS = 0, 1, 2
CLASS_NAMES = {SIGNED_IN: "signed_in", SIGN_IN: "sign_in", ANONYMOUS: "anonymous"}
EXEMPT_PREFIXES = ("/static/", "/api/v1/health", "/favicon")

FALLBACK_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>系统繁忙 - 碳效码平台</title><link rel="stylesheet" href="/static/css/cecp.css"></head>
<body><main style="max-width:40rem;margin:4rem auto;text-align:center">
<h1>系统繁忙，请稍后再试</h1>
<p>当前访问人数较多，平台已暂停接收新的请求，已受理的操作不受影响。请在 {retry} 秒后刷新页面。</p>
<p lang="en">The platform is busy. Please try again in {retry} seconds.</p>
</main></body></html>"""


PRIORITY_COOKIE = "cecp_prio"


def priority_hint(secret: str) -> str:
    """The value of the priority cookie a signed-in browser carries. It is a scheduling hint,
    not a credential (the session decides access); a flood carrying it is still bounded by
    the same in-flight and queue limits."""
    return hmac.new(secret.encode(), b"cecp-priority", hashlib.sha256).hexdigest()[:24]


def classify(environ: dict[str, Any], hint: str = "") -> int | None:
    """The priority of a request (lower first); None for requests that bypass the gate."""
    path = environ.get("PATH_INFO", "")
    if path.startswith(EXEMPT_PREFIXES):
        return None
    if environ.get("HTTP_AUTHENTICATION_TOKEN"):
        return SIGNED_IN
    if hint and f"{PRIORITY_COOKIE}={hint}" in environ.get("HTTP_COOKIE", ""):
        return SIGNED_IN
    if path.startswith(("/auth/", "/api/v1/auth/")) and environ.get("REQUEST_METHOD") == "POST":
        return SIGN_IN
    if path == "/auth/login":  # the form is the first step of a sign-in (and cheap)
        return SIGN_IN
    if (environ.get("HTTP_X_API_KEY") and path.startswith("/api/")) or (
            path.startswith("/ws/") and environ.get("REQUEST_METHOD") == "POST"):
        return SIGN_IN  # a machine client's batch: work, after the people already working
    return ANONYMOUS


class Gate:
    """A counting gate whose waiters are served by (priority, arrival)."""

    def __init__(self, *, max_inflight: int, max_queue: int, max_wait: float) -> None:
        self.max_inflight, self.max_queue, self.max_wait = max_inflight, max_queue, max_wait
        self.inflight = 0
        self._waiters: list[tuple[int, int, threading.Event]] = []
        self._lock = threading.Lock()
        self._seq = itertools.count()

    def _queue_limit(self, prio: int) -> tuple[int, float]:
        if prio == ANONYMOUS:
            return max(1, self.max_queue // 2), self.max_wait / 2
        return self.max_queue, self.max_wait

    def acquire(self, prio: int) -> bool:
        limit, wait = self._queue_limit(prio)
        with self._lock:
            if self.inflight < self.max_inflight and not self._waiters:
                self.inflight += 1
                return True
            if len(self._waiters) >= limit:
                return False
            entry = (prio, next(self._seq), threading.Event())
            heapq.heappush(self._waiters, entry)
        if entry[2].wait(wait):
            return True
        with self._lock:
            if entry[2].is_set():  # granted between the timeout and the lock
                return True
            self._waiters.remove(entry)
            heapq.heapify(self._waiters)
            return False

    def release(self) -> None:
        with self._lock:
            if self._waiters:  # hand the slot over: in-flight count unchanged
                heapq.heappop(self._waiters)[2].set()
            else:
                self.inflight -= 1

    @property
    def waiting(self) -> int:
        return len(self._waiters)


class _Releasing:
    """The response body; frees the slot once, when the body is exhausted or closed
    (servers call close(); a test client may only read to the end)."""

    def __init__(self, body: Iterable[bytes], release: Callable[[], None]) -> None:
        self._body, self._it, self._release = body, iter(body), release
        self._done = False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._it)
        except StopIteration:
            self._free()
            raise

    def _free(self) -> None:
        if not self._done:
            self._done = True
            self._release()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._free()


class OverloadGuard:
    """WSGI middleware: admit through the gate or answer 503 at once."""

    def __init__(
        self,
        app: Callable,
        *,
        max_inflight: int,
        max_queue: int,
        max_wait: float,
        retry_after: int,
        page: Callable[[], str] | None = None,
        hint: str = "",
    ) -> None:
        self.app = app
        self.gate = Gate(max_inflight=max_inflight, max_queue=max_queue, max_wait=max_wait)
        self.retry_after = retry_after
        self.hint = hint
        self._page_fn = page
        self._page: bytes | None = None

    def page(self) -> bytes:
        if self._page is None:
            html = None
            if self._page_fn is not None:
                try:
                    html = self._page_fn()
                except Exception:  # noqa: BLE001 - a refusal must never fail
                    html = None
            self._page = (html or FALLBACK_PAGE.format(retry=self.retry_after)).encode()
        return self._page

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        prio = classify(environ, self.hint)
        if prio is None:
            return self.app(environ, start_response)
        t0 = time.perf_counter()
        admitted = self.gate.acquire(prio)
        metrics.QUEUE_WAIT.labels(CLASS_NAMES[prio]).observe(time.perf_counter() - t0)
        if not admitted:
            metrics.SHED.labels(CLASS_NAMES[prio]).inc()
            return self._refuse(environ, start_response)
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self.gate.release()
            raise
        return _Releasing(result, self.gate.release)

    def _refuse(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        api = environ.get("PATH_INFO", "").startswith("/api/")
        if api:
            body = (
                '{"error": {"code": "503", "message": "系统繁忙，请稍后再试 '
                '(server busy, retry later)"}}'
            ).encode()
            ctype = "application/json"
        else:
            body, ctype = self.page(), "text/html; charset=utf-8"
        start_response(
            "503 Service Unavailable",
            [
                ("Content-Type", ctype),
                ("Content-Length", str(len(body))),
                ("Retry-After", str(self.retry_after)),
                ("Cache-Control", "no-store"),
                ("Connection", "close"),
            ],
        )
        return [body]


def install(app) -> None:
    """Wrap `app.wsgi_app` when `CECP_MAX_INFLIGHT` > 0 (0 turns the guard off). Off under
    TESTING: the gate frees a slot when the server closes the body (PEP 3333), which
    Werkzeug's test client skips for a body a test never reads; the guard's tests run a
    real gunicorn instead (tests/ops)."""
    cfg = app.config
    if int(cfg.get("CECP_MAX_INFLIGHT") or 0) <= 0 or app.testing:
        return
    retry = int(cfg["CECP_RETRY_AFTER"])
    hint = priority_hint(str(cfg["SECRET_KEY"]))

    def render_page() -> str:
        from flask import render_template

        with app.test_request_context("/"):
            return render_template(
                "errors/error.html",
                status="503 系统繁忙",
                message=f"当前访问人数较多，平台暂停接收新的请求，已受理的操作不受影响。"
                f"请在 {retry} 秒后刷新页面。",
            )

    guard = OverloadGuard(
        app.wsgi_app,
        max_inflight=int(cfg["CECP_MAX_INFLIGHT"]),
        max_queue=int(cfg["CECP_MAX_QUEUE"]),
        max_wait=float(cfg["CECP_MAX_QUEUE_WAIT"]),
        retry_after=retry,
        page=render_page,
        hint=hint,
    )
    app.wsgi_app = guard
    app.extensions["cecp_overload"] = guard

    @app.after_request
    def _priority_cookie(response):
        from flask import request
        from flask_security import current_user

        if request.path.startswith(EXEMPT_PREFIXES):
            return response
        has = request.cookies.get(PRIORITY_COOKIE) == hint
        signed_in = bool(getattr(current_user, "is_authenticated", False))
        if signed_in and not has:
            response.set_cookie(
                PRIORITY_COOKIE,
                hint,
                httponly=True,
                samesite="Lax",
                secure=bool(cfg.get("SESSION_COOKIE_SECURE")),
            )
        elif has and not signed_in:
            response.delete_cookie(PRIORITY_COOKIE)
        return response
