"""The case a service task runs for, and the writes it defers until the instance is saved.

BPMN services receive only a copy of the task data; they read the case (instance id,
region, enterprise, initiator, acting user) from here, never owners from task data. Their
database writes are queued with `after_save` and run after the version-guarded UPDATE of
the instance, so a losing concurrent step writes nothing and locks are always taken in the
same order (instance row, then audit chain). Their audit records go to the action's
journal (`audit`), appended with the action's own record in one go at its end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from app.workflow.journal import Journal


@dataclass
class CaseContext:
    instance_id: int | None
    process_key: str
    region_code: str | None
    enterprise_uscc: str | None
    initiator_id: int | None
    actor: Any = None
    deferred: list[Callable[[int], None]] = field(default_factory=list)
    journal: Journal = field(default_factory=Journal)
    enterprise: Any = None  # the case's `Enterprise`, once loaded (per action)

    @classmethod
    def of(cls, inst: Any, actor: Any = None) -> CaseContext:
        """The context of a stored instance (`ProcessInstance`)."""
        return cls(inst.id, inst.process_key, inst.region_code, inst.enterprise_uscc,
                   inst.initiator_id, actor=actor)


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


def audit(action: str, **kwargs: Any) -> None:
    """An audit record of the case being stepped, written with the action's own records;
    outside the workflow service layer it is appended at once."""
    ctx = _CURRENT.get()
    if ctx is None:
        from app.audit import service

        service.record(action, **kwargs)
        return
    ctx.journal.audit(action, **kwargs)


@contextmanager
def case(ctx: CaseContext) -> Iterator[CaseContext]:
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)
