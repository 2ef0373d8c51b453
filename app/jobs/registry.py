"""Job functions by name: the outbox stores names, never pickled callables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JOBS: dict[str, Callable[..., Any]] = {}


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in JOBS and JOBS[name] is not fn:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = fn
        return fn

    return register


def get(name: str) -> Callable[..., Any]:
    try:
        return JOBS[name]
    except KeyError:
        raise KeyError(f"未注册的后台任务: {name}") from None
