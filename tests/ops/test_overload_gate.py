"""The overload gate's rules (app.platform.overload), with real threads: bounded in-flight
work and queue, waiters served by priority, anonymous pages with half the queue."""

from __future__ import annotations

import threading
import time

from app.platform.overload import ANONYMOUS, SIGN_IN, SIGNED_IN, Gate, classify, priority_hint


def test_a_freed_slot_goes_to_the_signed_in_user_first():
    gate = Gate(max_inflight=1, max_queue=4, max_wait=5)
    assert gate.acquire(ANONYMOUS)  # the one slot is taken
    order: list[str] = []

    def wait(prio: int, name: str) -> None:
        if gate.acquire(prio):
            order.append(name)
            gate.release()

    anon = threading.Thread(target=wait, args=(ANONYMOUS, "anonymous"))
    anon.start()
    time.sleep(0.1)  # the anonymous page queues first ...
    user = threading.Thread(target=wait, args=(SIGNED_IN, "signed-in"))
    user.start()
    time.sleep(0.1)
    assert gate.waiting == 2 and gate.inflight == 1
    gate.release()  # ... but the signed-in user's work gets the slot
    anon.join(5)
    user.join(5)
    assert order == ["signed-in", "anonymous"]
    assert gate.inflight == 0 and gate.waiting == 0


def test_queue_and_wait_are_bounded_and_anonymous_pages_get_half():
    gate = Gate(max_inflight=1, max_queue=2, max_wait=0.4)
    assert gate.acquire(SIGNED_IN)
    results: dict[str, bool] = {}
    first = threading.Thread(target=lambda: results.setdefault("a", gate.acquire(ANONYMOUS)))
    first.start()
    time.sleep(0.05)
    t0 = time.perf_counter()
    assert gate.acquire(ANONYMOUS) is False  # half the queue (1) is full: refused at once
    assert time.perf_counter() - t0 < 0.05
    t0 = time.perf_counter()
    assert gate.acquire(SIGN_IN) is False  # waited its bound, then refused
    assert 0.35 < time.perf_counter() - t0 < 1.0
    first.join(2)
    assert results["a"] is False  # anonymous waited half as long, then refused
    gate.release()
    assert gate.inflight == 0 and gate.acquire(ANONYMOUS)


def test_requests_are_classified_by_token_priority_cookie_and_path():
    hint = priority_hint("k")
    env = {"PATH_INFO": "/", "REQUEST_METHOD": "GET"}
    assert classify(env, hint) == ANONYMOUS
    assert classify({**env, "HTTP_COOKIE": f"session=x; cecp_prio={hint}"}, hint) == SIGNED_IN
    assert classify({**env, "HTTP_COOKIE": "cecp_prio=forged"}, hint) == ANONYMOUS
    assert classify({**env, "HTTP_AUTHENTICATION_TOKEN": "t"}, hint) == SIGNED_IN
    assert classify({"PATH_INFO": "/auth/login", "REQUEST_METHOD": "POST"}, hint) == SIGN_IN
    assert classify({"PATH_INFO": "/auth/login", "REQUEST_METHOD": "GET"}, hint) == SIGN_IN
    assert classify({"PATH_INFO": "/auth/reset", "REQUEST_METHOD": "GET"}, hint) == ANONYMOUS
    machine = {"PATH_INFO": "/api/v1/readings", "REQUEST_METHOD": "POST", "HTTP_X_API_KEY": "k"}
    assert classify(machine, hint) == SIGN_IN
    assert classify({**machine, "PATH_INFO": "/monitoring/region"}, hint) == ANONYMOUS
    assert classify({"PATH_INFO": "/ws/exchange", "REQUEST_METHOD": "POST"}, hint) == SIGN_IN
    assert classify({"PATH_INFO": "/api/v1/health"}, hint) is None
    assert classify({"PATH_INFO": "/static/css/cecp.css"}, hint) is None
