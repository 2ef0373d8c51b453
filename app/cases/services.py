"""The real implementations of the services BPMN service tasks call by name, and the hooks
of the report review process (start data, title, submission checks).

They replace the engine's placeholders (`register_service(..., replace=True)`). Each reads
its case from `app.workflow.context` (never owners from task data) and defers its writes
with `after_save`, so they happen after the instance's version-guarded UPDATE.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from app.accounting import service as accounting
from app.accounting.service import current_figures
from app.cases import selfcheck
from app.cases.models import ReportPublication
from app.cases.notifications import notify
from app.db import utcnow
from app.extensions import db
from app.orgs.models import Enterprise
from app.orgs.service import enterprise_by_uscc
from app.workflow import context, hooks
from app.workflow.engine import ServiceError, register_service
from app.workflow.errors import Conflict, Invalid

REPORT = "enterprise_report"

# Built once (bound parameters only): the final approval runs them for every case.
_PUBLICATION = ReportPublication.__table__
_RETIRE = update(_PUBLICATION).where(
    _PUBLICATION.c.enterprise_uscc == bindparam("b_uscc"),
    _PUBLICATION.c.period_key == bindparam("b_key"),
    _PUBLICATION.c.is_current.is_(True)).values(is_current=False)
_PUBLISH = insert(_PUBLICATION).returning(_PUBLICATION.c.id)


def _enterprise() -> Enterprise | None:
    """The case's enterprise (read once per action and kept on the case context)."""
    ctx = context.current()
    if ctx is None or not ctx.enterprise_uscc:
        return None
    if ctx.enterprise is None or ctx.enterprise.uscc != ctx.enterprise_uscc:
        ctx.enterprise = enterprise_by_uscc(ctx.enterprise_uscc)
    return ctx.enterprise


def _period(data: dict[str, Any]) -> tuple[int, int | None]:
    year = int(data.get("year") or date.today().year - 1)
    month = data.get("month")
    return year, int(month) if month else None


@register_service("report.self_check", replace=True)
def report_self_check(data: dict[str, Any]) -> dict[str, Any]:
    """Cross-checks of the case's enterprise report (see `app.cases.selfcheck`). Outside
    the workflow service layer (no case) it behaves like the engine's placeholder."""
    if context.current() is None:
        from app.workflow.engine import builtin_services

        return builtin_services.report_self_check(data)
    ent = _enterprise()
    if ent is None:
        return {"self_check": {"passed": True, "warnings": [], "errors": [],
                               "notes": ["未关联企业，未自查"]}}
    year, month = _period(data)
    return {"self_check": selfcheck.run(enterprise=ent, year=year, month=month)}


@register_service("report.publish", replace=True)
def report_publish(data: dict[str, Any]) -> dict[str, Any]:
    """Final approval: the current carbon accounts of the period become the published ones."""
    ent = _enterprise()
    if ent is None:
        raise ServiceError("案件未关联企业，无法发布")
    year, month = _period(data)
    periods = [year * 100 + month] if month else [year * 100 + m for m in range(1, 13)]
    rows = current_figures(enterprise_id=ent.id, periods=periods)
    if not rows:
        period = f"{year}年{month}月" if month else f"{year}年"
        raise ServiceError(f"{ent.name} {period}没有可发布的核算数据")
    co2 = sum((Decimal(r.co2_total) for r in rows), Decimal(0))
    tce = sum((Decimal(r.energy_tce) for r in rows), Decimal(0))
    va = sum((Decimal(r.value_added or 0) for r in rows), Decimal(0))
    intensity = accounting.ratio(co2, va)   # the engine's half-up rule
    key = f"{year}-{month:02d}" if month else str(year)
    figures = [{"period": r.period, "account_id": r.id, "version": r.version,
                "co2_total": str(r.co2_total), "energy_tce": str(r.energy_tce),
                "electricity_mwh": str(r.electricity_mwh),
                "value_added": None if r.value_added is None else str(r.value_added)}
               for r in rows]
    ctx = context.current()
    actor = getattr(ctx.actor, "email", None) if ctx else None

    def write(instance_id: int) -> None:
        conn = db.session.connection()
        conn.execute(_RETIRE, {"b_uscc": ent.uscc, "b_key": key})
        pub_id = conn.execute(_PUBLISH, {
            "instance_id": instance_id, "enterprise_uscc": ent.uscc,
            "region_code": ent.region_code, "period_key": key, "year": year, "month": month,
            "co2_total": str(co2), "energy_tce": str(tce), "value_added": str(va),
            "intensity": None if intensity is None else str(intensity),
            "figures": json.dumps(figures, ensure_ascii=False), "published_by": actor,
            "is_current": True, "published_at": utcnow()}).scalar_one()
        # the published versions are frozen: later inputs never rewrite them silently (audited
        # in this action's record below: one audit append per workflow action)
        accounting.freeze(enterprise_id=ent.id, periods=[r.period for r in rows],
                          status="published", user_email=actor, audited=False)
        context.audit("report.publish", object_type="report_publication", object_id=pub_id,
                      user=ctx.actor if ctx else None,
                      summary={"enterprise": ent.uscc, "period": key, "co2_total": str(co2),
                               "instance": instance_id, "accounts": [r.id for r in rows],
                               "frozen": "published"})

    context.after_save(write)
    return {"published": {"period": key, "co2_total": str(co2), "months": len(rows),
                          "at": datetime.now(UTC).isoformat(timespec="seconds")}}


@register_service("case.remind", replace=True)
def case_remind(data: dict[str, Any], stage: str = "") -> dict[str, Any]:
    """Deadline reminder: a notification to whoever may work the stage's task, audited."""
    ctx = context.current()

    def write(instance_id: int) -> None:
        from app.workflow.assignment import candidates
        from app.workflow.models import WorkTask

        tasks = db.session.scalars(select(WorkTask).where(
            WorkTask.instance_id == instance_id, WorkTask.name == stage)).all()
        sent = 0
        for task in tasks:
            users = candidates(task)
            if task.assignee_id is not None:
                users = [u for u in users if u.id == task.assignee_id] or users
            for user in users:
                sent += notify(user=user, kind="reminder", instance_id=instance_id,
                               message=f"「{task.title}」的{task.label}即将到期，请及时办理。")
        context.audit("case.remind", object_type="workflow_instance", object_id=instance_id,
                      email="system", summary={"stage": stage, "notified": sent})

    if ctx is not None:
        context.after_save(write)
    return {"last_reminder": {"stage": stage, "at": datetime.now(UTC).isoformat()}}


@register_service("sample.archive", replace=True)
def sample_archive(data: dict[str, Any]) -> dict[str, Any]:
    """Archive step of the Camunda sample process: stamps the case as archived."""
    return {"archived_at": datetime.now(UTC).isoformat(timespec="seconds")}


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
    from app.workflow.models import ProcessInstance

    open_id = db.session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.process_key == REPORT,
        ProcessInstance.enterprise_uscc == enterprise.uscc,
        ProcessInstance.status.in_(("running", "error")),
        ProcessInstance.title == report_title(data, enterprise)).limit(1))
    if open_id is not None:
        raise Conflict(f"该企业本期已有进行中的报告案件（案件 #{open_id}），请在该案件中继续办理",
                       fields={"open_case": open_id, "year": "本期已有进行中的报告案件"},
                       code="case_open")


@hooks.title(REPORT)
def report_title(data: dict[str, Any], enterprise: Enterprise | None) -> str:
    name = enterprise.name if enterprise else "企业"
    period = f"{data['year']}年{data['month']}月" if data.get("month") else f"{data['year']}年度"
    return f"{name} {period}碳核算报告"


@hooks.on_submit(REPORT, "submit_report")
def report_submit(data: dict[str, Any], task_data: dict[str, Any]
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
            e["message"] for e in result["errors"])
    if result.get("warnings") and not str(data.get("explanation") or "").strip():
        errors["explanation"] = "自查发现预警，必须填写情况说明"
    return errors, {"self_check": result}
