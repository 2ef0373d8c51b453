"""Self-monitoring (R-5.4, R-8.1e): the platform checks itself and says what is wrong.

Each check returns an `Alert` (firing or not) with a Chinese message naming the figure and
its threshold. The administrator page `/admin/alerts/` lists them; `/api/v1/metrics`
exports each as `cecp_alert_active{alert=...}`; `ops/prometheus/alerts.yml` states the same
rules over the raw metrics for a Prometheus that watches every node.

The audit chain is verified by a periodic job (`platform.audit_verify`, every
`CECP_AUDIT_VERIFY_SECONDS`, default an hour): a broken chain makes the job fail, the
failure stays on its schedule row, and the `audit_chain` alert fires until a run passes.
Refusals are read from the audit log (actions of refused access, failed or locked sign-ins,
rate limits), counting a record's `summary.count` where refusals were aggregated.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select

from app.db import utcnow
from app.extensions import db
from app.i18n import Msg, Seq

REFUSAL_PATTERNS = (
    "%refus%",
    "%denied%",
    "%forbidden%",
    "%lockout%",
    "%rate_limit%",
    "%ratelimit%",
    "login.failure",
    "%auth_failure%",
    "%csrf%",
)
REFUSAL_WINDOW = timedelta(minutes=10)
AUDIT_JOB = "platform.audit_verify"


@dataclass
class Alert:
    name: str
    label: str
    firing: bool
    message: str
    severity: str = "warning"  # warning | critical


def _ratio_5xx() -> tuple[float, float]:
    from app.platform.metrics import REQUESTS

    total = errors = 0.0
    for metric in REQUESTS.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_total"):
                continue
            total += sample.value
            if sample.labels.get("status", "").startswith("5"):
                errors += sample.value
    return errors, total


def check_5xx() -> Alert:
    limit = float(current_app.config["CECP_ALERT_5XX_RATIO"])
    errors, total = _ratio_5xx()
    ratio = errors / total if total >= 20 else 0.0
    return Alert(
        "http_5xx",
        "服务端错误率",
        ratio > limit,
        Msg("本节点 5xx 响应 %(errors)s / %(total)s 次 (%(ratio)s)，阈值 %(limit)s",
            errors=f"{errors:,.0f}", total=f"{total:,.0f}", ratio=f"{ratio:.1%}",
            limit=f"{limit:.0%}"),
        "critical",
    )


def check_queue() -> tuple[Alert, Alert]:
    from app.jobs.service import counts

    by_status = counts()
    depth = sum(by_status.get(s, 0) for s in ("pending", "dispatched", "running"))
    limit = int(current_app.config["CECP_ALERT_QUEUE_DEPTH"])
    dead = by_status.get("dead", 0)
    return (
        Alert(
            "queue_depth",
            "任务积压",
            depth > limit,
            Msg("发件箱待处理 %(depth)s 个任务，阈值 %(limit)s", depth=f"{depth:,}",
                limit=f"{limit:,}"),
        ),
        Alert(
            "dead_letters",
            "死信",
            dead > 0,
            Msg("%(dead)s 个任务重试次数用尽，等待管理员处理（后台任务页面）", dead=f"{dead:,}"),
            "critical",
        ),
    )


def check_worker() -> Alert:
    if not current_app.config.get("CECP_REDIS_URL"):
        return Alert("no_worker", "后台任务进程", False, "未配置 Redis：任务在网页进程内执行")
    from app.platform.health import _timed, _workers

    probe = _timed(_workers)
    return Alert("no_worker", "后台任务进程", not probe["ok"], str(probe["detail"]), "critical")


def check_heartbeats() -> Alert:
    from app.platform import nodes

    stale = [n["id"] for n in nodes.list_nodes() if n["state"] == "stale"]
    return Alert(
        "stale_heartbeat",
        "节点心跳",
        bool(stale),
        Msg("%(n)s 个节点超过 2 分钟没有心跳：%(nodes)s", n=len(stale), nodes=", ".join(stale[:5]))
        if stale
        else "所有节点心跳正常",
    )


def check_audit_chain() -> Alert:
    from app.jobs.models import JobSchedule

    row = db.session.get(JobSchedule, AUDIT_JOB)
    if row is None or row.last_finished_at is None:
        return Alert("audit_chain", "审计链校验", False, "尚未运行（周期任务将自动校验）")
    if row.last_error:
        return Alert(
            "audit_chain",
            "审计链校验",
            True,
            Msg("最近一次校验失败：%(error)s", error=row.last_error.strip().splitlines()[-1][:300]),
            "critical",
        )
    return Alert("audit_chain", "审计链校验", False, "最近一次校验通过")


def refusals_by_source(window: timedelta = REFUSAL_WINDOW) -> dict[str, int]:
    """Refusals in the window per user (e-mail) and per client address."""
    from app.audit.models import AuditRecord

    since = utcnow() - window
    rows = db.session.execute(
        select(AuditRecord.user_email, AuditRecord.ip, AuditRecord.summary)
        .where(
            AuditRecord.ts >= since, or_(*[AuditRecord.action.like(p) for p in REFUSAL_PATTERNS])
        )
        .limit(50_000)
    ).all()
    out: dict[str, int] = {}
    for email, ip, summary in rows:
        n = 1
        try:
            n = int(json.loads(summary or "{}").get("count", 1))
        except (ValueError, TypeError, AttributeError):
            pass
        for key in (Msg("用户 %(email)s", email=email) if email else None,
                    f"IP {ip}" if ip else None):
            if key:
                out[key] = out.get(key, 0) + n
    return out


def check_refusals() -> Alert:
    limit = int(current_app.config["CECP_ALERT_REFUSALS"])
    many = {k: n for k, n in refusals_by_source().items() if n >= limit}
    text = Seq(Msg("%(source)s %(n)s 次", source=k, n=f"{n:,}")
               for k, n in sorted(many.items(), key=lambda kv: -kv[1])[:5])
    return Alert(
        "refusals",
        "拒绝访问",
        bool(many),
        Msg("10 分钟内被拒绝 ≥ %(limit)s 次：%(sources)s", limit=f"{limit:,}", sources=text)
        if many
        else Msg("10 分钟内没有来源被拒绝 %(limit)s 次以上", limit=f"{limit:,}"),
    )


def check_disk() -> Alert:
    limit = float(current_app.config["CECP_ALERT_DISK_FREE"])
    usage = shutil.disk_usage(
        current_app.instance_path if _exists(current_app.instance_path) else "/"
    )
    free = usage.free / usage.total if usage.total else 1.0
    return Alert(
        "disk",
        "磁盘空间",
        free < limit,
        Msg("可用 %(free)s GiB (%(share)s)，阈值 %(limit)s", free=f"{usage.free / 2**30:,.1f}",
            share=f"{free:.0%}", limit=f"{limit:.0%}"),
        "critical",
    )


def _exists(path: str) -> bool:
    import os

    return os.path.isdir(path)


def evaluate() -> list[Alert]:
    """Run every check; a check that cannot run is itself an alert."""
    out: list[Alert] = []
    for check in (
        check_5xx,
        check_queue,
        check_worker,
        check_heartbeats,
        check_audit_chain,
        check_refusals,
        check_disk,
    ):
        try:
            got = check()
            out.extend(got if isinstance(got, tuple) else (got,))
        except Exception as exc:  # noqa: BLE001 - a failing check is reported, not raised
            db.session.rollback()
            out.append(
                Alert(
                    check.__name__.removeprefix("check_"),
                    check.__name__,
                    True,
                    f"检查失败：{type(exc).__name__}: {exc}"[:300],
                    "critical",
                )
            )
    from app.platform.metrics import ALERTS

    for a in out:
        ALERTS.labels(a.name).set(1 if a.firing else 0)
    return out


def verify_audit_chain() -> None:
    """Periodic job: a broken chain raises, so the ticker keeps the error on the row."""
    from app.audit.service import verify_chain

    problem = verify_chain()
    if problem is not None:
        raise RuntimeError(f"审计链校验失败: {problem}")


def init_app(app: Flask) -> None:
    from app.jobs import periodic

    periodic.register(
        AUDIT_JOB, every="CECP_AUDIT_VERIFY_SECONDS", run=verify_audit_chain, default=3600.0
    )


def summary(alerts: list[Alert]) -> dict[str, Any]:
    firing = [a for a in alerts if a.firing]
    return {"firing": len(firing), "critical": sum(a.severity == "critical" for a in firing)}
