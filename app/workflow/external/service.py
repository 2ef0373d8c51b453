"""External tasks: rows kept in step with the instance blob, and the worker actions.

Same rules as `app.workflow.service`: flush, never commit; every instance change goes
through `persistence.save` (version-guarded); every action and refusal is audited. Workers
are machine clients (``X-API-Key``) with the ``workflow.external`` permission; each sees and
touches only the tasks of cases in its data scope (a task outside it is "not found").
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.identity.scope import scope_for, scoped
from app.workflow import engine, persistence
from app.workflow.context import CaseContext, case
from app.workflow.engine import external as ext_engine
from app.workflow.engine.data_limit import BOUND, data_size, too_large_message
from app.workflow.errors import STALE_MESSAGE, Conflict, Invalid, NotFound
from app.workflow.external.models import ExternalTask
from app.workflow.models import ProcessInstance
from app.workflow.service import record_error

MAX_LOCK_MS = 24 * 3600 * 1000
_HAS_EXTERNAL: dict[str, bool] = {}


def has_external(loaded: Any) -> bool:
    """Does the version contain external service tasks (cached per content hash)?"""
    key = loaded.bundle.content_hash
    if key not in _HAS_EXTERNAL:
        specs = [loaded.bundle.spec, *loaded.bundle.subprocess_specs.values()]
        _HAS_EXTERNAL[key] = any(
            getattr(ts, "external_topic", None) is not None
            for sp in specs
            for ts in sp.task_specs.values()
        )
    return _HAS_EXTERNAL[key]


def sync(inst: ProcessInstance, wf: Any, status: str, loaded: Any) -> None:
    """`persistence.save` hook: one row per waiting external task of a running (or failed)
    instance; an administrator's retry (error -> running) restores exhausted retries."""
    if not has_external(loaded):
        return
    waiting = ext_engine.waiting_external(wf) if status in ("running", "error") else []
    rows = {
        r.id: r
        for r in db.session.scalars(select(ExternalTask).where(ExternalTask.instance_id == inst.id))
    }
    now_ids = {w.task_id for w in waiting}
    gone = [i for i in rows if i not in now_ids]
    if gone:
        for task_id in gone:
            db.session.expunge(rows[task_id])
        db.session.execute(delete(ExternalTask).where(ExternalTask.id.in_(gone)))
    for w in waiting:
        row = rows.get(w.task_id)
        if row is None:
            db.session.add(
                ExternalTask(
                    id=w.task_id,
                    instance_id=inst.id,
                    topic=w.topic[:200],
                    activity_id=w.activity_id[:200],
                    activity_name=w.activity_name[:300],
                    process_key=inst.process_key,
                    region_code=inst.region_code,
                    enterprise_uscc=inst.enterprise_uscc,
                    variables=json.dumps(w.data, ensure_ascii=False, default=str),
                )
            )
        elif status == "running" and row.retries == 0:
            row.retries, row.retry_at, row.worker_id, row.lock_expires_at = None, None, None, None
    db.session.flush()


# ---- variables in Camunda's typed shape ------------------------------------------------


def typed(value: Any) -> dict[str, Any]:
    if value is None:
        kind = "Null"
    elif isinstance(value, bool):
        kind = "Boolean"
    elif isinstance(value, int):
        kind = "Integer" if -(2**31) <= value < 2**31 else "Long"
    elif isinstance(value, float):
        kind = "Double"
    elif isinstance(value, str):
        kind = "String"
    else:
        kind = "Json"
    return {"value": value, "type": kind, "valueInfo": {}}


def untyped(variables: Any, field: str = "variables") -> dict[str, Any]:
    """``{"name": {"value": v, "type": ...}}`` (Camunda) or ``{"name": v}`` -> plain data."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise Invalid("变量必须是对象", fields={field: "必须是对象"})
    out = {}
    for name, item in variables.items():
        if not isinstance(name, str) or not name or name.startswith("_"):
            raise Invalid(
                "变量名不得为空或以下划线开头", fields={field: f"不允许的变量名 {name!r}"}
            )
        out[name] = item["value"] if isinstance(item, dict) and "value" in item else item
    size = data_size(out)
    if BOUND.max_bytes > 0 and size > BOUND.max_bytes:
        raise Invalid(too_large_message(size), fields={field: "数据量超过上限"})
    return out


def view(row: ExternalTask, wanted: list[str] | None = None) -> dict[str, Any]:
    data = json.loads(row.variables or "{}")
    if wanted is not None:
        data = {k: v for k, v in data.items() if k in wanted}
    return {
        "id": row.id,
        "topicName": row.topic,
        "workerId": row.worker_id,
        "activityId": row.activity_id,
        "activityName": row.activity_name,
        "processInstanceId": row.instance_id,
        "processDefinitionKey": row.process_key,
        "lockExpirationTime": row.lock_expires_at.isoformat() + "Z"
        if row.lock_expires_at
        else None,
        "retries": row.retries,
        "errorMessage": row.error_message,
        "variables": {k: typed(v) for k, v in data.items()},
    }


# ---- worker actions --------------------------------------------------------------------


def _ms(value: Any, field: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_LOCK_MS:
        raise Invalid(
            f"{field} 必须是 {minimum}–{MAX_LOCK_MS} 之间的毫秒数", fields={field: "无效的毫秒数"}
        )
    return value


def fetch_and_lock(
    *, worker_id: str, max_tasks: int, topics: list[dict[str, Any]], user: Any
) -> list[dict[str, Any]]:
    """Lock up to `max_tasks` free tasks of the topics (oldest first) for `worker_id`."""
    if not worker_id or len(worker_id) > 200:
        raise Invalid("workerId 必填", fields={"workerId": "必填（最长 200 字符）"})
    by_topic = {}
    for t in topics or []:
        name = t.get("topicName") if isinstance(t, dict) else None
        if not name:
            raise Invalid("每个 topic 都要有 topicName", fields={"topics": "缺少 topicName"})
        by_topic[name] = (_ms(t.get("lockDuration"), "lockDuration", minimum=1), t.get("variables"))
    if not by_topic:
        raise Invalid("至少需要一个 topic", fields={"topics": "必填"})
    now = utcnow()
    stmt = (
        select(ExternalTask)
        .join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id)
        .where(
            ExternalTask.topic.in_(list(by_topic)),
            ProcessInstance.status == "running",
            or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at < now),
            or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0),
            or_(ExternalTask.retry_at.is_(None), ExternalTask.retry_at <= now),
        )
        .order_by(ExternalTask.created_at, ExternalTask.id)
        .limit(max(1, min(int(max_tasks or 1), 100)))
    )
    stmt = scoped(stmt, ExternalTask, scope_for(user))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=ExternalTask)
    rows = list(db.session.scalars(stmt))
    out = []
    for row in rows:
        duration, wanted = by_topic[row.topic]
        row.worker_id, row.lock_expires_at = worker_id, now + timedelta(milliseconds=duration)
        out.append(view(row, wanted if isinstance(wanted, list) else None))
    db.session.flush()
    if rows:
        audit.record(
            "workflow.external.lock",
            object_type="workflow_external_task",
            object_id=",".join(r.id for r in rows)[:100],
            user=user,
            summary={
                "worker": worker_id,
                "tasks": [r.id for r in rows],
                "topics": sorted({r.topic for r in rows}),
            },
        )
    return out


def _locked(
    task_id: str, worker_id: str, user: Any, action: str, now: datetime | None = None
) -> ExternalTask:
    """The task, locked by `worker_id` (refusals are audited by the API layer)."""
    stmt = scoped(
        select(ExternalTask).where(ExternalTask.id == task_id), ExternalTask, scope_for(user)
    )
    row = db.session.scalar(stmt)
    if row is None:
        raise NotFound(f"外部任务不存在或不在您的数据范围内: {task_id}")
    if not worker_id or row.worker_id != worker_id:
        raise Conflict(
            f"外部任务 {task_id} 未被工作者 {worker_id or '（空）'} 锁定", code="not_locked"
        )
    if now is not None and (row.lock_expires_at is None or row.lock_expires_at < now):
        raise Conflict(f"外部任务 {task_id} 的锁已过期", code="lock_expired")
    return row


def _step(
    row: ExternalTask, user: Any, action: str, fn: Any, *, label: str, summary: dict[str, Any]
) -> ProcessInstance:
    """Open the row's instance, apply `fn(wf)` (returns an error text or None), save."""
    inst = row.instance
    if inst.status != "running":
        raise Conflict("流程不在运行中", code="not_running")
    opened = persistence.open_instance(inst)
    ctx = CaseContext.of(inst, user)
    with case(ctx):
        try:
            error = fn(opened.wf)
        except engine.TaskNotReady as exc:
            raise Conflict(STALE_MESSAGE, code="stale") from exc
        except Exception as exc:  # noqa: BLE001 - a later step failed: the instance errs
            error = persistence.describe(exc)
        persistence.save(
            inst=inst,
            wf=opened.wf,
            loaded=opened.loaded,
            ctx=ctx,
            before=opened.before,
            error=error,
        )
    ctx.journal.history(
        instance_id=inst.id,
        action="external",
        user=user,
        label=label,
        task_id=row.id,
        task_name=row.activity_id,
    )
    ctx.journal.audit(
        f"workflow.external.{action}",
        object_type="workflow_external_task",
        object_id=row.id,
        user=user,
        summary={"instance": inst.id, "activity": row.activity_id, **summary},
    )
    if error:
        record_error(ctx.journal, inst, error, user)
    ctx.journal.write()
    return inst


def complete(*, task_id: str, worker_id: str, variables: Any, user: Any) -> ProcessInstance:
    data = untyped(variables)
    row = _locked(task_id, worker_id, user, "complete")
    return _step(
        row,
        user,
        "complete",
        lambda wf: ext_engine.complete_external(wf, task_id, data),
        label=f"外部任务「{row.activity_name}」完成",
        summary={"worker": worker_id, "variables": sorted(data)},
    )


def bpmn_error(
    *,
    task_id: str,
    worker_id: str,
    error_code: str,
    error_message: str | None,
    variables: Any,
    user: Any,
) -> ProcessInstance:
    if not error_code:
        raise Invalid("errorCode 必填", fields={"errorCode": "必填"})
    data = untyped(variables)
    row = _locked(task_id, worker_id, user, "bpmn_error")

    def throw(wf: Any) -> str | None:
        if ext_engine.throw_bpmn_error(wf, task_id, error_code, error_message, data):
            return None
        return (
            f"外部任务「{row.activity_name}」报告业务错误 {error_code}"
            f"（{error_message or '无说明'}），但模型中没有捕获它的错误边界事件"
        )

    return _step(
        row,
        user,
        "bpmn_error",
        throw,
        label=f"外部任务「{row.activity_name}」业务错误 {error_code}",
        summary={"worker": worker_id, "code": error_code, "message": error_message},
    )


def failure(
    *,
    task_id: str,
    worker_id: str,
    error_message: str | None,
    error_details: str | None,
    retries: Any,
    retry_timeout: Any,
    user: Any,
) -> ExternalTask:
    """Record a technical failure: the task is unlocked and offered again after
    `retry_timeout` ms while retries remain; at 0 the instance goes to its error state."""
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise Invalid("retries 必须是非负整数", fields={"retries": "必须是非负整数"})
    timeout = _ms(retry_timeout or 0, "retryTimeout")
    row = _locked(task_id, worker_id, user, "failure")
    row.retries, row.worker_id, row.lock_expires_at = retries, None, None
    row.retry_at = utcnow() + timedelta(milliseconds=timeout) if timeout else None
    row.error_message = (error_message or "")[:2000] or None
    row.error_details = error_details
    db.session.flush()
    summary = {
        "worker": worker_id,
        "retries": retries,
        "retry_timeout_ms": timeout,
        "message": (error_message or "")[:500],
    }
    if retries > 0:
        audit.record(
            "workflow.external.failure",
            object_type="workflow_external_task",
            object_id=row.id,
            user=user,
            summary={"instance": row.instance_id, **summary},
        )
        return row
    message = (
        f"外部任务「{row.activity_name}」（主题 {row.topic}）失败且没有剩余重试次数："
        f"{error_message or '无说明'}"
    )
    _step(
        row,
        user,
        "incident",
        lambda wf: message,
        label=f"外部任务「{row.activity_name}」失败（无剩余重试）",
        summary=summary,
    )
    return row


def extend_lock(*, task_id: str, worker_id: str, new_duration: Any, user: Any) -> ExternalTask:
    duration = _ms(new_duration, "newDuration", minimum=1)
    now = utcnow()
    row = _locked(task_id, worker_id, user, "extend_lock", now=now)
    row.lock_expires_at = now + timedelta(milliseconds=duration)
    db.session.flush()
    audit.record(
        "workflow.external.extend_lock",
        object_type="workflow_external_task",
        object_id=row.id,
        user=user,
        summary={"worker": worker_id, "new_duration_ms": duration},
    )
    return row


def list_for(
    *, user: Any, topic: str | None = None, instance_id: int | None = None, limit: int = 200
) -> list[ExternalTask]:
    """Tasks in the caller's scope (workers, administrators)."""
    stmt = select(ExternalTask).order_by(ExternalTask.created_at).limit(limit)
    if topic:
        stmt = stmt.where(ExternalTask.topic == topic)
    if instance_id:
        stmt = stmt.where(ExternalTask.instance_id == instance_id)
    return list(db.session.scalars(scoped(stmt, ExternalTask, scope_for(user))))
