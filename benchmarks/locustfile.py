"""Locust scenario (R-8.1b): each user signs in through the login form (CSRF token taken
from the form), then browses home, the carbon account, monitoring and the inbox with think
time. Run by `benchmarks/bench_load.py` and `tests/ops/test_load_small.py`, never alone
against anything but 127.0.0.1.

Environment: CECP_LOAD_USERS_PREFIX / CECP_LOAD_PASSWORD (the accounts the driver made),
CECP_LOAD_WAIT ("min,max" think time in seconds), CECP_LOAD_OUT (where to write the
per-phase statistics as JSON: ramp-up = before every user was spawned, steady = after).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from urllib.parse import urlparse

from locust import FastHttpUser, between, events, task

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PREFIX = os.environ.get("CECP_LOAD_USERS_PREFIX", "load")
PASSWORD = os.environ.get("CECP_LOAD_PASSWORD", "Load#Bench2026x")
WAIT = tuple(float(x) for x in os.environ.get("CECP_LOAD_WAIT", "5,15").split(","))
_ids = itertools.count()
STATE: dict = {"steady_at": None, "samples": [], "started": time.time()}


@events.spawning_complete.add_listener
def _steady(user_count: int, **_kw) -> None:
    if STATE["steady_at"] is None:
        STATE["steady_at"] = time.time()


@events.request.add_listener
def _sample(
    request_type, name, response_time, response_length, exception=None, response=None, **_kw
) -> None:
    status = getattr(response, "status_code", 0) if response is not None else 0
    STATE["samples"].append(
        (time.time(), name, response_time / 1000.0, exception is not None, status)
    )


@events.quitting.add_listener
def _write(environment, **_kw) -> None:
    out = os.environ.get("CECP_LOAD_OUT")
    if not out:
        return
    with open(out, "w") as fh:
        json.dump(
            {
                "started": STATE["started"],
                "steady_at": STATE["steady_at"],
                "samples": STATE["samples"],
            },
            fh,
        )


class PlatformUser(FastHttpUser):
    wait_time = between(*WAIT)
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        n = next(_ids)
        self.email = f"{PREFIX}{n}@bench.cecp"
        self.signed_in = False
        for _attempt in range(3):  # as a person would: a busy page (503) is retried later
            retry = self._sign_in()
            if retry is None:
                return
            time.sleep(retry)

    def _sign_in(self) -> float | None:
        """None when signed in (or refused for good), else seconds to wait (Retry-After)."""
        with self.client.get("/auth/login", name="login form", catch_response=True) as r:
            m = CSRF.search(r.text or "")
            if r.status_code != 200 or not m:
                r.failure(f"login form {r.status_code}")
                return float(r.headers.get("Retry-After") or 5) if r.status_code == 503 else None
            token = m.group(1)
        with self.client.post(
            "/auth/login",
            name="login",
            catch_response=True,
            data={"email": self.email, "password": PASSWORD, "csrf_token": token},
        ) as r:
            if r.status_code != 200 or urlparse(r.url).path.startswith("/auth/login"):
                r.failure(f"sign-in refused ({r.status_code})")
                if r.status_code == 503:
                    return float(r.headers.get("Retry-After") or 5)
                return None
        self.signed_in = True
        return None

    def _page(self, path: str, name: str) -> None:
        if not self.signed_in:  # still at the login page: try again instead of browsing
            self._sign_in()
            return
        with self.client.get(path, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")
            elif urlparse(r.url).path.startswith("/auth/login"):
                r.failure("signed out")

    @task(4)
    def home(self) -> None:
        self._page("/", "home")

    @task(2)
    def account(self) -> None:
        self._page("/accounts", "carbon account")

    @task(2)
    def monitoring(self) -> None:
        self._page("/monitoring/region", "monitoring")

    @task(2)
    def inbox(self) -> None:
        self._page("/workflow/inbox", "inbox")
