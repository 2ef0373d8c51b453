"""Figures several parts of one page ask for (the task counts of the badge, the dashboard and
the inbox tabs; the unread messages) computed once per request. Kept on the request itself, so
a test holding one application context across requests never sees a stale figure."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import has_request_context, request

T = TypeVar("T")


def memo(key: Hashable, compute: Callable[[], T]) -> T:
    if not has_request_context():
        return compute()
    store = request.environ.setdefault("cecp.memo", {})
    if key not in store:
        store[key] = compute()
    return store[key]
