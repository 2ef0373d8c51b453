"""The report follows the report case without the case knowing about it: a workflow task
listener (`app.workflow.persistence.TASK_LISTENERS`) asks for one `reports.case_event` job
when an `enterprise_report` case reaches 初审 (submitted, also after a return) and when it
completes (published, if it was). The job requests the report document; the document's own
`documents.build` job renders and signs it. Nothing is rendered inside the request."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app

from app.db import utcnow

PROCESS = "enterprise_report"
SUBMITTED_TASK = "initial_review"


def on_tasks(inst: Any, created: list[dict], status: str) -> list[dict]:
    """Workflow listener -> outbox rows (written with the action's batched statement)."""
    if getattr(inst, "process_key", None) != PROCESS or not inst.enterprise_uscc:
        return []
    if not current_app.config.get("CECP_REPORTS_ON_CASES", True):
        return []
    if status == "completed":
        event = "published"
    elif any(row.get("name") == SUBMITTED_TASK for row in created):
        event = "submitted"
    else:
        return []
    payload = {"instance_id": inst.id, "event": event}
    return [
        {
            "name": "reports.case_event",
            "payload": json.dumps(payload),
            "queue": "default",
            "status": "pending",
            "attempts": 0,
            "created_at": utcnow(),
        }
    ]
