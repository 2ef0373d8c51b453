"""Home page panels by role (registered into `app.web.home.PANELS`): the enterprise sees its
grade and trend, the year's data completeness, the filing deadline, its to-dos and messages;
reviewers their inbox, overdue work and region; verifiers their cases and due dates;
administrators health, jobs and dead letters, audit alerts.

A panel is {"id", "title", "figures": [(label, value, unit)], "rows": [(text, detail, url)],
"link": (label, url), "spark": [(label, value)]}; every query is scoped to the caller."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from app.accounting.models import CarbonAccount, CarbonCode
from app.audit.models import AuditRecord
from app.cases.filing import FILING_DAY
from app.cases.notifications import KINDS, get_all, unread_count
from app.db import utcnow
from app.energy.models import EnergyRecord
from app.extensions import db
from app.identity.scope import DataScope, scoped
from app.jobs.models import OutboxJob
from app.orgs.models import Enterprise
from app.platform import health
from app.web.filters import BEIJING, audit_action, bjtime
from app.web.home import figures
from app.web.request_memo import memo
from app.workflow import assignment
from app.workflow.models import ProcessInstance, WorkTask
from app.workflow.views import task_counts


def _beijing_today() -> date:
    return utcnow().replace(tzinfo=UTC).astimezone(BEIJING).date()


def _has(user: Any, role: str) -> bool:
    return any(r.name == role for r in user.roles)


def unread(user: Any) -> int:
    """Unread messages, once per request (the badge and the messages panel)."""
    return memo(("cases.unread", user.id), lambda: unread_count(user))


def _tasks_panel(user: Any, title: str = "待办") -> dict:
    counts = task_counts(user)
    now = utcnow()
    overdue = (
        db.session.scalar(
            select(func.count())
            .select_from(WorkTask)
            .where(
                assignment.workable_clause(user),
                WorkTask.due_at.is_not(None),
                WorkTask.due_at < now,
            )
        )
        or 0
    )
    tasks = db.session.scalars(assignment.tasks_query(user=user).limit(5)).all()
    rows = [
        (
            f"{t.title} · {t.label}",
            ("已超期 " if t.due_at and t.due_at < now else "截止 ") + bjtime(t.due_at)
            if t.due_at
            else "无期限",
            url_for("workflow.task_page", task_id=t.id),
        )
        for t in tasks
    ]
    return {
        "id": "panel-tasks",
        "title": title,
        "figures": [
            ("我的待办", counts["mine"], "件"),
            ("可认领", counts["claimable"], "件"),
            ("已超期", overdue, "件"),
        ],
        "rows": rows,
        "empty": "暂无待办",
        "link": ("进入待办", url_for("workflow.inbox")),
    }


def _messages_panel(user: Any) -> dict:

    items = get_all(user=user, limit=5)
    return {
        "id": "panel-messages",
        "title": "消息",
        "figures": [("未读", unread(user), "条")],
        "rows": [
            (
                n.message,
                f"{KINDS.get(n.kind, n.kind)} · {bjtime(n.created_at)}",
                url_for("workflow.instance_page", instance_id=n.instance_id)
                if n.instance_id
                else None,
            )
            for n in items
        ],
        "empty": "暂无消息",
        "link": ("全部消息", url_for("cases.notifications_page")),
    }


def _enterprise_panels(user: Any, scope: DataScope) -> list[dict]:
    ent = db.session.scalars(
        scoped(select(Enterprise), Enterprise, scope).order_by(Enterprise.id).limit(1)
    ).first()
    if ent is None:
        return []
    today = _beijing_today()
    code = db.session.scalars(
        select(CarbonCode)
        .where(
            CarbonCode.enterprise_id == ent.id,
            CarbonCode.period_type == "month",
            CarbonCode.is_current.is_(True),
        )
        .order_by(CarbonCode.period_key.desc(), CarbonCode.id)
        .limit(1)
    ).first()
    trend = db.session.execute(
        select(CarbonAccount.period, CarbonAccount.co2_total)
        .where(CarbonAccount.enterprise_id == ent.id, CarbonAccount.is_current.is_(True))
        .order_by(CarbonAccount.period.desc())
        .limit(12)
    ).all()[::-1]
    grade = {
        "id": "panel-grade",
        "title": gettext("%(name)s · 碳效等级与趋势", name=ent.name),
        "code": code,
        "code_period": code.period_key if code else None,
        "spark": [(f"{p // 100}-{p % 100:02d}", float(v)) for p, v in trend],
        "spark_unit": "tCO2",
        "link": ("查看碳账户", url_for("accounting.account", uscc=ent.uscc)),
    }
    # completeness of the year: every month before the current one should be filed
    year = today.year if today.month > 1 else today.year - 1
    due_months = list(range(1, today.month if year == today.year else 13))
    filed = set(
        db.session.scalars(
            select(EnergyRecord.month).where(
                EnergyRecord.enterprise_id == ent.id, EnergyRecord.year == year
            )
        )
    )
    missing = [m for m in due_months if m not in filed]
    last = today.replace(day=1) - timedelta(days=1)
    deadline = date(today.year, today.month, FILING_DAY)
    last_filed = (
        last.month in filed
        if last.year == year
        else bool(
            db.session.scalar(
                select(func.count())
                .select_from(EnergyRecord)
                .where(
                    EnergyRecord.enterprise_id == ent.id,
                    EnergyRecord.year == last.year,
                    EnergyRecord.month == last.month,
                )
            )
        )
    )
    status = (
        "已填报"
        if last_filed
        else ("已逾期" if today > deadline else gettext("剩 %(n)s 天", n=(deadline - today).days))
    )
    completeness = {
        "id": "panel-completeness",
        "title": gettext("%(y)s 年数据完整性与填报期限", y=year),
        "figures": [
            ("已填报月份", f"{len(due_months) - len(missing)} / {len(due_months)}", "个月"),
            (gettext("%(y)s年%(m)s月数据截止 %(d)s", y=last.year, m=last.month,
                     d=deadline.strftime("%m-%d")), status, ""),
        ],
        "rows": [
            (
                gettext("%(y)s年%(m)s月能耗数据未填报", y=year, m=m),
                "待补报",
                url_for("energy.new_record", year=year, month=m),
            )
            for m in missing[:6]
        ],
        "empty": "本年度应填报月份均已填报",
        "link": ("能耗填报", url_for("energy.records")),
    }
    return [grade, completeness, _tasks_panel(user), _messages_panel(user)]


def _reviewer_panels(user: Any, scope: DataScope) -> list[dict]:
    region = {
        "id": "panel-region",
        "title": "辖区概览",
        "figures": [(f["label"], f["value"], f["unit"]) for f in figures()],
        "link": ("区域监测", url_for("monitoring.region"))
        if "monitoring.region" in current_app.view_functions
        else None,
    }
    return [_tasks_panel(user, "审核待办"), region, _messages_panel(user)]


def _verifier_panels(user: Any, scope: DataScope) -> list[dict]:
    return [_tasks_panel(user, "核查任务与期限"), _messages_panel(user)]


def _admin_panels(user: Any, scope: DataScope) -> list[dict]:
    ready, body = health.check()
    comps = body.get("components", {})
    jobs = dict(
        db.session.execute(select(OutboxJob.status, func.count()).group_by(OutboxJob.status)).all()
    )
    errored = (
        db.session.scalar(
            select(func.count())
            .select_from(ProcessInstance)
            .where(ProcessInstance.status == "error")
        )
        or 0
    )
    since = utcnow() - timedelta(hours=24)
    alerts = db.session.scalars(
        select(AuditRecord)
        .where(
            AuditRecord.action.in_(
                (
                    "login.failure",
                    "login.lockout",
                    "audit.export",
                    "keys.rotate",
                    "permission.role_change",
                )
            ),
            AuditRecord.ts >= since,
        )
        .order_by(AuditRecord.seq.desc())
        .limit(6)
    ).all()
    names = {"database": "数据库", "redis": "Redis", "worker": "后台任务进程", "node": "本节点",
             "registry": "节点注册"}
    return [
        {
            "id": "panel-health",
            "title": "运行状况",
            "figures": [("整体", "正常" if ready else "异常", "")]
            + [(names.get(k, k), "正常" if v.get("ok") else "异常", "") for k, v in comps.items()],
            "link": ("服务治理", url_for("services.index")),
        },
        {
            "id": "panel-jobs",
            "title": "后台任务",
            "figures": [
                ("待分发", jobs.get("pending", 0), "个"),
                ("失败（死信）", jobs.get("failed", 0), "个"),
                ("流程实例出错", errored, "个"),
            ],
            "link": ("流程错误", url_for("workflow.errors_page"))
            if "workflow.errors_page" in current_app.view_functions
            else None,
        },
        {
            "id": "panel-audit",
            "title": "审计告警（24 小时）",
            "rows": [
                (f"{audit_action(a.action)} · {a.user_email or '系统'}", bjtime(a.ts), None)
                for a in alerts
            ],
            "empty": "24 小时内无告警",
            "link": ("审计日志", url_for("audit.index_view")),
        },
        _messages_panel(user),
    ]


def panels(user: Any, scope: DataScope) -> list[dict]:
    out: list[dict] = []
    if _has(user, "admin"):
        out += _admin_panels(user, scope)
    if _has(user, "reviewer") or _has(user, "approver"):
        out += _reviewer_panels(user, scope)
    if _has(user, "enterprise"):
        out += _enterprise_panels(user, scope)
    if _has(user, "verifier"):
        out += _verifier_panels(user, scope)
    seen, unique = set(), []
    for p in out:  # one messages panel even for a user with several roles
        if p["id"] not in seen:
            seen.add(p["id"])
            unique.append(p)
    return unique
