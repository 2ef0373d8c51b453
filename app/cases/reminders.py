"""Deadline reminders (BPMN service task `case.remind`, fired by a timer boundary event): a
message to whoever may work the stage's task (its assignee if claimed), audited once.

The write is deferred with `context.after_save`: it sees the task rows of this step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.cases.notifications import DUE_SOON, notify
from app.extensions import db
from app.i18n import Msg
from app.workflow import context
from app.workflow.assignment import candidates
from app.workflow.engine import register_service
from app.workflow.models import WorkTask


@register_service("case.remind", replace=True)
def case_remind(data: dict[str, Any], stage: str = "") -> dict[str, Any]:
    """Deadline reminder: a notification to whoever may work the stage's task, audited."""
    ctx = context.current()

    def write(instance_id: int) -> None:
        tasks = db.session.scalars(
            select(WorkTask).where(WorkTask.instance_id == instance_id, WorkTask.name == stage)
        ).all()
        sent = 0
        for task in tasks:
            users = candidates(task)
            if task.assignee_id is not None:
                users = [u for u in users if u.id == task.assignee_id] or users
            for user in users:
                sent += notify(
                    user=user,
                    kind="reminder",
                    instance_id=instance_id,
                    message=Msg(DUE_SOON, title=task.title, task=task.label),
                )
        context.audit(
            "case.remind",
            object_type="workflow_instance",
            object_id=instance_id,
            email="system",
            summary={"stage": stage, "notified": sent},
        )

    if ctx is not None:
        context.after_save(write)
    return {"last_reminder": {"stage": stage, "at": datetime.now(UTC).isoformat()}}
