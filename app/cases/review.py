"""What a reviewer needs beside a report task (hook `workflow.hooks.context`): the report's
monthly breakdown by source, the link to the enterprise's carbon account, and the earlier
returns with the enterprise's answers, oldest first. The self-check shown with the task is
the one stored at (re)submission, re-run whenever its inputs changed (`report_submit`)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select

from app.extensions import db
from app.workflow import hooks

REPORT = "enterprise_report"
SOURCES = (("co2_combustion", "燃烧"), ("co2_process", "工业过程"),
           ("co2_electricity", "外购电力"), ("co2_heat", "外购热力"))


@hooks.context(REPORT)
def report_context(inst: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    from app.accounting.models import CarbonAccount
    from app.orgs.models import Enterprise
    from app.workflow.models import TaskHistory

    if not inst.enterprise_uscc:
        return None
    ent = db.session.scalars(select(Enterprise).where(
        Enterprise.uscc == inst.enterprise_uscc)).first()
    year, month = data.get("year"), data.get("month")
    rows = []
    if ent is not None and year:
        stmt = select(CarbonAccount).where(CarbonAccount.enterprise_id == ent.id,
                                           CarbonAccount.is_current.is_(True),
                                           CarbonAccount.year == int(year))
        if month:
            stmt = stmt.where(CarbonAccount.month == int(month))
        for a in db.session.scalars(stmt.order_by(CarbonAccount.period)):
            rows.append({"period": f"{a.year}-{a.month:02d}",
                         "sources": [getattr(a, col) for col, _ in SOURCES],
                         "exported": a.co2_electricity_exported + a.co2_heat_exported,
                         "total": a.co2_total, "intensity": a.intensity,
                         "url": url_for("accounting.account", uscc=ent.uscc, year=a.year,
                                        month=a.month)})
    exchanges = []
    for h in db.session.scalars(select(TaskHistory).where(
            TaskHistory.instance_id == inst.id).order_by(TaskHistory.id)):
        if h.action == "return" and h.comment:
            exchanges.append({"kind": "退回", "who": h.user_label, "at": h.at,
                              "text": h.comment, "step": h.label})
        elif h.action == "complete" and h.task_name == "submit_report" and exchanges:
            exchanges.append({"kind": "企业答复", "who": h.user_label, "at": h.at,
                              "text": h.comment or "（重新送审，未填写说明）",
                              "step": h.label})
    return {"template": "cases/_review_context.html", "enterprise": ent, "rows": rows,
            "sources": [label for _, label in SOURCES], "exchanges": exchanges,
            "account_url": url_for("accounting.account", uscc=ent.uscc, year=year)
            if ent is not None and year else None}
