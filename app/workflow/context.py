"""The case a service task runs for, and the writes it defers until the instance is saved.

BPMN services receive only a copy of the task data; they read the case (instance id,
region, enterprise, initiator, acting user) from here, never owners from task data. Their
database writes are queued with `after_save` and run after the version-guarded UPDATE of
the instance, so a losing concurrent step writes nothing and locks are always taken in the
same order (instance row, then audit chain).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CaseContext:
    instance_id: int | None
    process_key: str
    region_code: str | None
    enterprise_uscc: str | None
    initiator_id: int | None
    actor: Any = None
    deferred: list[Callable[[int], None]] = field(default_factory=list)


_CURRENT: ContextVar[CaseContext | None] = ContextVar("cecp_case", default=None)


def current() -> CaseContext | None:
    """The case being stepped, or None outside the workflow service layer (engine tests)."""
    return _CURRENT.get()


def after_save(fn: Callable[[int], None]) -> None:
    """Run `fn(instance_id)` after the instance is saved (same transaction)."""
    ctx = _CURRENT.get()
    if ctx is None:
        return
    ctx.deferred.append(fn)


@contextmanager
def case(ctx: CaseContext) -> Iterator[CaseContext]:
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)
