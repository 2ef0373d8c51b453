"""Messages for the events of a case, written by a background job after the action commits
(the workflow's save only enqueues it: one outbox row per action, whatever the audience)."""

from __future__ import annotations

import json
from typing import Any

from app.cases.notifications import (
    APPROVED,
    ASSIGNED,
    COMPLETED,
    ESCALATED,
    PUBLISHED,
    RETURNED,
    notify,
)
from app.db import utcnow
from app.extensions import db
from app.i18n import Msg
from app.identity.models import User
from app.jobs.registry import job
from app.workflow.assignment import candidates
from app.workflow.models import ProcessInstance, WorkTask
from app.workflow.service import task_data

_ENTERPRISE_LANES = (None, "enterprise")


def on_tasks(inst: Any, created: list[dict], status: str) -> list[dict]:
    """Workflow listener: new ready tasks or a finished instance -> one notify job (an outbox
    row that persistence writes in the action's batched statement: no extra round trip)."""
    payload = {
        "instance_id": inst.id,
        "status": status,
        "tasks": [{k: row[k] for k in ("id", "name", "label", "lane")} for row in created],
    }
    return [
        {
            "name": "cases.notify",
            "payload": json.dumps(payload, ensure_ascii=False),
            "queue": "default",
            "status": "pending",
            "attempts": 0,
            "created_at": utcnow(),
        }
    ]


def _initiator(inst: Any) -> list:
    user = db.session.get(User, inst.initiator_id) if inst.initiator_id else None
    return [user] if user is not None else []


@job("cases.notify")
def notify_case(instance_id: int, status: str, tasks: list[dict[str, Any]]) -> int:
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is None or inst.status == "withdrawn":
        return 0
    data = task_data(inst)
    title = inst.title
    comment = (data.get("comment") or "").strip()
    sent = 0
    for t in tasks:
        task = WorkTask(
            id=t["id"],
            instance_id=inst.id,
            name=t["name"],
            label=t["label"],
            lane=t["lane"],
            region_code=inst.region_code,
            enterprise_uscc=inst.enterprise_uscc,
            initiator_id=inst.initiator_id,
            verification_body_code=inst.verification_body_code,
            institution_code=inst.institution_code,
            process_key=inst.process_key,
            title=title,
        )
        if t["lane"] in _ENTERPRISE_LANES:
            if data.get("decision") != "return":
                continue  # the enterprise's own first step: it just started the case
            message = Msg(RETURNED, title=title, comment=comment or "（无）")
            for user in candidates(task) or _initiator(inst):
                sent += notify(user=user, kind="returned", message=message, instance_id=inst.id)
            continue
        escalated = data.get("escalated_from") and t["name"] != data.get("escalated_from")
        kind = "overdue" if escalated else "assigned"
        message = (
            Msg(ESCALATED, title=title, task=t["label"])
            if escalated
            else Msg(ASSIGNED, title=title, task=t["label"])
        )
        for user in candidates(task):
            sent += notify(user=user, kind=kind, message=message, instance_id=inst.id)
        if data.get("decision") == "approve" and not escalated:
            for user in _initiator(inst):
                sent += notify(
                    user=user,
                    kind="approved",
                    message=Msg(APPROVED, title=title, task=t["label"]),
                    instance_id=inst.id,
                )
    if status == "completed":
        published = data.get("published") or {}
        message = (
            Msg(PUBLISHED, title=title, period=published.get("period", ""))
            if published
            else Msg(COMPLETED, title=title)
        )
        for user in _initiator(inst):
            sent += notify(user=user, kind="published", message=message, instance_id=inst.id)
    return sent
