"""The report follows the report case without the case knowing about it: a workflow task
listener (`app.workflow.persistence.TASK_LISTENERS`) asks for one `reports.case_event` job
when an `enterprise_report` case reaches 初审 (submitted, also after a return) and when it
completes (published, if it was). The job requests the report document; the document's own
`documents.build` job renders and signs it. Nothing is rendered inside the request.

It also follows the accounts: when accounts change (accounting's `AFTER_ACCOUNTS_CHANGED`,
in the writing transaction) one `reports.accounts_changed` job is asked for; it rebuilds
the reports already issued for the changed enterprise-years (and the year after, which
compares with them), so a new account version makes a new document that supersedes the
old one without anyone asking."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app

from app.db import utcnow
from app.jobs import outbox

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


def on_accounts_changed(enterprise_ids: set[int] | None, periods: set[int] | None) -> None:
    """Accounting's change signal -> one rebuild job (cheap: the job finds the reports)."""
    if not current_app.config.get("CECP_REPORTS_ON_ACCOUNT_CHANGE", True):
        return
    years = None
    if periods is not None:  # a report compares with the year before: that one follows too
        years = sorted({p // 100 for p in periods} | {p // 100 + 1 for p in periods})
    outbox.enqueue(
        "reports.accounts_changed",
        enterprise_ids=None if enterprise_ids is None else sorted(enterprise_ids),
        years=years,
    )
