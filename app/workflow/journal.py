"""What a workflow action leaves behind: its history rows and its audit records.

Both are collected while the action runs and written at its end, one multi-row INSERT for
the history (deferred: it goes with the step's other derived rows, `app.write_batch`) and
one `audit.record_many` for the audit chain, which queues the records: they are chained at
the commit (`app.audit.chain`), so the chain's lock is the last one a transaction takes and
concurrent actions serialise on it only for the append and the commit (every transaction
takes the instance row lock, then the derived rows, then the chain head: no deadlocks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.write_batch import defer_insert


def user_label(user: Any) -> str | None:
    if user is None:
        return "系统"
    return getattr(user, "display_name", None) or getattr(user, "email", None)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


@dataclass
class Journal:
    """History rows and audit entries of one action, written together by `write`."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)

    def history(self, *, instance_id: int, action: str, user: Any = None, task: Any = None,
                data: Any = None, comment: str | None = None, task_id: str | None = None,
                task_name: str | None = None, label: str | None = None) -> None:
        """A timeline row: who did what, when, with which data (`task`: a `WorkTask`)."""
        self.rows.append({
            "instance_id": instance_id, "action": action,
            "task_id": task.id if task is not None else task_id,
            "task_name": task.name if task is not None else task_name,
            "label": task.label if task is not None else label,
            "user_id": getattr(user, "id", None), "user_label": user_label(user),
            "data": None if data is None else to_json(data), "comment": comment,
            "at": utcnow()})

    def audit(self, action: str, **kwargs: Any) -> None:
        """An audit record (the keyword arguments of `app.audit.service.record`)."""
        self.entries.append({"action": action, **kwargs})

    def write(self) -> None:
        """Insert the history rows, queue the audit records (appended at commit)."""
        rows, entries = self.rows, self.entries
        self.rows, self.entries = [], []
        defer_insert(db.session.connection(), "workflow_history", rows)
        if entries:
            audit.record_many(entries)
