"""The enterprise report review process (`enterprise_report`): its self-check service task
(`report.self_check`), its hooks (start data, title, submission checks) and what a reviewer
sees beside a report task (`workflow.hooks.context`).

The service task replaces the engine's placeholder (`register_service(..., replace=True)`);
it reads its case from `app.workflow.context` (never owners from task data). Publication
(`publication.py`) and reminders (`reminders.py`) are the process's other service tasks.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import url_for
from sqlalchemy import select

from app.accounting.models import CarbonAccount
from app.cases import selfcheck
from app.extensions import db
from app.orgs.models import Enterprise
from app.orgs.service import enterprise_by_uscc
from app.workflow import context, hooks
from app.workflow.engine import builtin_services, register_service
from app.workflow.errors import Conflict, Invalid
from app.workflow.models import ProcessInstance, TaskHistory

REPORT = "enterprise_report"
#: fn(inst) -> {"template": ..., ...} | None: more beside the report (e.g. the verification
#: statement the case received), registered by other domains (app.verification)
REPORT_EXTRAS: list = []
SOURCES = (
    ("co2_combustion", "燃烧"),
    ("co2_process", "工业过程"),
    ("co2_electricity", "外购电力"),
    ("co2_heat", "外购热力"),
)


def case_enterprise() -> Enterprise | None:
    """The case's enterprise (read once per action and kept on the case context)."""
    ctx = context.current()
    if ctx is None or not ctx.enterprise_uscc:
        return None
    if ctx.enterprise is None or ctx.enterprise.uscc != ctx.enterprise_uscc:
        ctx.enterprise = enterprise_by_uscc(ctx.enterprise_uscc)
    return ctx.enterprise


def case_period(data: dict[str, Any]) -> tuple[int, int | None]:
    year = int(data.get("year") or date.today().year - 1)
    month = data.get("month")
    return year, int(month) if month else None


@register_service("report.self_check", replace=True)
def report_self_check(data: dict[str, Any]) -> dict[str, Any]:
    """Cross-checks of the case's enterprise report (see `app.cases.selfcheck`). Outside
    the workflow service layer (no case) it behaves like the engine's placeholder."""
    if context.current() is None:
        return builtin_services.report_self_check(data)
    ent = case_enterprise()
    if ent is None:
        return {
            "self_check": {
                "passed": True,
                "warnings": [],
                "errors": [],
                "notes": ["未关联企业，未自查"],
            }
        }
    year, month = case_period(data)
    return {"self_check": selfcheck.run(enterprise=ent, year=year, month=month)}


# ---- hooks of the report review process ----------------------------------------------------


@hooks.on_start(REPORT)
def report_start(data: dict[str, Any], enterprise: Enterprise | None) -> dict[str, Any]:
    if enterprise is None:
        raise Invalid("企业报告必须指定企业", fields={"enterprise_uscc": "必填"})
    errors: dict[str, str] = {}
    this_year = date.today().year
    try:
        year = int(data.get("year") or this_year - 1)
        if not 2000 <= year <= this_year:
            errors["year"] = f"年份应在 2000–{this_year} 之间"
    except (TypeError, ValueError):
        errors["year"] = "必须是整数"
        year = this_year
    month = data.get("month")
    if month not in (None, ""):
        try:
            month = int(month)
            if not 1 <= month <= 12:
                errors["month"] = "月份应在 1–12 之间"
        except (TypeError, ValueError):
            errors["month"] = "必须是整数"
    else:
        month = None
    if errors:
        raise Invalid("发起数据校验未通过", fields=errors)
    out = {**data, "year": year, "month": month}
    _refuse_second_open_case(enterprise, out)
    return out


def _refuse_second_open_case(enterprise: Enterprise, data: dict[str, Any]) -> None:
    """One open report case per enterprise and period: a second start names the open one."""
    open_id = db.session.scalar(
        select(ProcessInstance.id)
        .where(
            ProcessInstance.process_key == REPORT,
            ProcessInstance.enterprise_uscc == enterprise.uscc,
            ProcessInstance.status.in_(("running", "error")),
            ProcessInstance.title == report_title(data, enterprise),
        )
        .limit(1)
    )
    if open_id is not None:
        raise Conflict(
            f"该企业本期已有进行中的报告案件（案件 #{open_id}），请在该案件中继续办理",
            fields={"open_case": open_id, "year": "本期已有进行中的报告案件"},
            code="case_open",
        )


@hooks.title(REPORT)
def report_title(data: dict[str, Any], enterprise: Enterprise | None) -> str:
    name = enterprise.name if enterprise else "企业"
    period = f"{data['year']}年{data['month']}月" if data.get("month") else f"{data['year']}年度"
    return f"{name} {period}碳核算报告"


@hooks.on_submit(REPORT, "submit_report")
def report_submit(
    data: dict[str, Any], task_data: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Self-check at submission: the result shown is reused if nothing it read has changed
    (`selfcheck.still_valid`), else the checks run again; errors block, warnings need an
    explanation."""
    result = task_data.get("self_check")
    if not selfcheck.still_valid(result):
        result = report_self_check(task_data)["self_check"]
    errors: dict[str, str] = {}
    if result.get("errors"):
        errors["_form"] = "自查发现错误，请修正后再送审: " + "；".join(
            e["message"] for e in result["errors"]
        )
    if result.get("warnings") and not str(data.get("explanation") or "").strip():
        errors["explanation"] = "自查发现预警，必须填写情况说明"
    return errors, {"self_check": result}


# ---- what a reviewer sees beside a report task ---------------------------------------------


@hooks.context(REPORT)
def report_context(inst: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """Beside a report task: the report's monthly breakdown by source, the link to the
    enterprise's carbon account, and the earlier returns with the enterprise's answers,
    oldest first. The self-check shown is the one stored at (re)submission."""
    if not inst.enterprise_uscc:
        return None
    ent = db.session.scalars(
        select(Enterprise).where(Enterprise.uscc == inst.enterprise_uscc)
    ).first()
    year, month = data.get("year"), data.get("month")
    rows = []
    if ent is not None and year:
        stmt = select(CarbonAccount).where(
            CarbonAccount.enterprise_id == ent.id,
            CarbonAccount.is_current.is_(True),
            CarbonAccount.year == int(year),
        )
        if month:
            stmt = stmt.where(CarbonAccount.month == int(month))
        for a in db.session.scalars(stmt.order_by(CarbonAccount.period)):
            rows.append(
                {
                    "period": f"{a.year}-{a.month:02d}",
                    "sources": [getattr(a, col) for col, _ in SOURCES],
                    "exported": a.co2_electricity_exported + a.co2_heat_exported,
                    "total": a.co2_total,
                    "intensity": a.intensity,
                    "url": url_for("accounting.account", uscc=ent.uscc, year=a.year, month=a.month),
                }
            )
    exchanges = []
    for h in db.session.scalars(
        select(TaskHistory).where(TaskHistory.instance_id == inst.id).order_by(TaskHistory.id)
    ):
        if h.action == "return" and h.comment:
            exchanges.append(
                {
                    "kind": "退回",
                    "who": h.user_label,
                    "at": h.at,
                    "text": h.comment,
                    "step": h.label,
                }
            )
        elif h.action == "complete" and h.task_name == "submit_report" and exchanges:
            exchanges.append(
                {
                    "kind": "企业答复",
                    "who": h.user_label,
                    "at": h.at,
                    "text": h.comment or "（重新送审，未填写说明）",
                    "step": h.label,
                }
            )
    return {
        "template": "cases/_review_context.html",
        "enterprise": ent,
        "rows": rows,
        "extras": [x for fn in REPORT_EXTRAS if (x := fn(inst)) is not None],
        "sources": [label for _, label in SOURCES],
        "exchanges": exchanges,
        "account_url": url_for("accounting.account", uscc=ent.uscc, year=year)
        if ent is not None and year
        else None,
    }
