"""Workflow actions: start, claim, release, complete, return, retry (timers and messages:
`app.workflow.events`).

Every action flushes (never commits: the request, job or CLI command commits at its edge),
goes through `persistence.save`, whose version-guarded UPDATE makes a concurrent loser fail
with `Conflict` (HTTP 409) before it has written anything, and ends by writing its journal:
the history rows, then the audit records (`app.workflow.journal`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import current_app
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.identity.scope import scope_for
from app.orgs.models import Enterprise
from app.orgs.service import enterprise_by_uscc
from app.workflow import assignment, deploy, engine, hooks, persistence
from app.workflow.context import CaseContext, case
from app.workflow.engine.data_limit import BOUND, data_size, too_large_message
from app.workflow.errors import STALE_MESSAGE, Conflict, Forbidden, Invalid, NotFound
from app.workflow.journal import Journal
from app.workflow.models import ProcessInstance, TaskHistory, WorkTask

_TASK_WITH_INSTANCE = (select(WorkTask).options(joinedload(WorkTask.instance))
                       .where(WorkTask.id == bindparam("b_id")))

USER_ERROR_MESSAGE = "您的办理已保存，但流程的自动处理步骤出错，已转平台管理员处理。"


LIMIT_MARKERS = ("运行时间超过上限", "内存超过上限", "流程数据超过上限")
LIMIT_USER_MESSAGE = ("流程中的脚本超出了平台的运行限制（时间、内存或数据量），已被终止；"
                      "流程已转平台管理员处理，请联系流程设计人员。")


def user_error_message(inst: ProcessInstance) -> str | None:
    """What a non-administrator is told about an instance in the error state."""
    if inst.status != "error":
        return None
    if inst.error and any(m in inst.error for m in LIMIT_MARKERS):
        return LIMIT_USER_MESSAGE
    return USER_ERROR_MESSAGE


def record_error(journal: Journal, inst: ProcessInstance, error: str, user: Any) -> None:
    journal.history(instance_id=inst.id, action="error", user=None, comment=error)
    journal.audit("workflow.instance.error", object_type="workflow_instance",
                  object_id=inst.id, user=user, summary={"error": error[:500]})


# ---- start ---------------------------------------------------------------------------

def _case_attributes(data: dict[str, Any], user: Any) -> tuple[str | None, str | None,
                                                               Enterprise | None]:
    scope = scope_for(user)
    uscc, region = data.get("enterprise_uscc"), data.get("region_code")
    if not uscc and not region and len(scope.enterprise) == 1:
        uscc = scope.enterprise[0]
    if uscc:
        ent = enterprise_by_uscc(str(uscc))
        if ent is None:
            raise Invalid("企业不存在", fields={"enterprise_uscc": "企业不存在"})
        if not assignment.scope_covers_case(scope, ent.region_code, ent.uscc):
            raise Forbidden("该企业不在您的数据范围内，不能为其发起流程")
        return ent.region_code, ent.uscc, ent
    if region:
        if not scope.covers_region(str(region)):
            raise Forbidden("该地区不在您的数据范围内，不能发起流程")
        return str(region), None, None
    return None, None, None


def _defaults() -> dict[str, Any]:
    cfg = current_app.config
    return {"review_deadline": cfg.get("CECP_REVIEW_DEADLINE", "P5D"),
            "review_deadline_reminder": cfg.get("CECP_REVIEW_REMINDER", "P3D")}


def start(*, model: str | int, data: dict[str, Any] | None, user: Any,
          case_of: ProcessInstance | None = None) -> ProcessInstance:
    """Start the latest version of a model for a case within the caller's scope.
    `case_of`: started by that instance's message (no user): the new case belongs to the
    same enterprise and region and has the same initiator."""
    data = dict(data or {})
    bad = [k for k in data if not isinstance(k, str) or k.startswith("_")]
    if bad:
        raise Invalid("字段名不得以下划线开头", fields={str(k): "不允许的字段" for k in bad})
    size = data_size(data)
    if BOUND.max_bytes > 0 and size > BOUND.max_bytes:
        raise Invalid(too_large_message(size), code="data_too_large")
    row, version = deploy.get_latest(key_or_id=model)
    loaded = deploy.loaded(version)
    form = loaded.start_form()
    if form is not None:  # a start-event form (Camunda formField, Spiff start form)
        errors = engine.validate_data(form, {k: v for k, v in data.items()
                                             if k in form["schema"].get("properties", {})})
        if errors:
            raise Invalid("发起表单校验未通过：" + "、".join(sorted(errors)), fields=errors)
    party_hook = hooks.CASE_PARTY.get(row.key)
    party_institution = None
    if case_of is not None:
        region, uscc = case_of.region_code, case_of.enterprise_uscc
        ent = enterprise_by_uscc(uscc) if uscc else None
    elif party_hook is not None:  # the case's party is an institution and its region
        region, party_institution = party_hook(data, user)
        uscc, ent = None, None
    else:
        region, uscc, ent = _case_attributes(data, user)
    start_hook = hooks.START.get(row.key)
    if start_hook is not None:
        data = start_hook(data, ent)
    data = {**_defaults(), **data, "enterprise_uscc": uscc, "region_code": region}
    title_hook = hooks.TITLE.get(row.key)
    title = title_hook(data, ent) if title_hook else " · ".join(
        p for p in (row.name, ent.name if ent else None) if p)
    body_hook = hooks.CASE_BODY.get(row.key)
    institution_hook = hooks.CASE_INSTITUTION.get(row.key)
    inst = ProcessInstance(model_id=row.id, version_id=version.id, process_key=row.key,
                           content_hash=version.content_hash,
                           title=title[:300], region_code=region, enterprise_uscc=uscc,
                           verification_body_code=body_hook(data) if body_hook else None,
                           institution_code=institution_hook(data) if institution_hook
                           else party_institution,
                           initiator_id=case_of.initiator_id if case_of is not None
                           else getattr(user, "id", None), blob="")
    ctx = CaseContext(None, row.key, region, uscc, inst.initiator_id, actor=user,
                      enterprise=ent)
    with case(ctx):
        wf = persistence.unstarted(loaded.bundle, data)
        error = persistence.run_steps(wf)
        persistence.save(inst=inst, wf=wf, loaded=loaded, ctx=ctx, error=error)
    journal = ctx.journal
    journal.history(instance_id=inst.id, action="start", user=user, data=data, label="发起")
    journal.audit("workflow.instance.start", object_type="workflow_instance",
                  object_id=inst.id, user=user,
                  summary={"model": row.key, "version": version.version, "enterprise": uscc,
                           "region": region})
    if error:
        record_error(journal, inst, error, user)
    journal.write()
    return inst


def start_form(*, model: str | int) -> dict[str, Any] | None:
    """The form the latest version asks for when an instance starts (None: no start form)."""
    _row, version = deploy.get_latest(key_or_id=model)
    return deploy.loaded(version).start_form()


# ---- tasks ---------------------------------------------------------------------------

def can_view(user: Any, inst: ProcessInstance) -> bool:
    if inst.initiator_id is not None and inst.initiator_id == getattr(user, "id", None):
        return True
    return assignment.covers(scope_for(user), inst)


def get_instance(*, instance_id: int, user: Any) -> ProcessInstance:
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is None or not can_view(user, inst):
        raise NotFound("流程实例不存在或不在您的数据范围内")
    return inst


def get_task(*, task_id: str, user: Any) -> WorkTask:
    """A ready task the user may see (read with its instance in one query); a finished one
    is a 409 with who finished it."""
    task = db.session.scalar(_TASK_WITH_INSTANCE, {"b_id": str(task_id)})
    if task is not None:
        if not can_view(user, task.instance):
            raise NotFound("任务不存在或不在您的数据范围内")
        return task
    done = db.session.scalar(select(TaskHistory).where(
        TaskHistory.task_id == str(task_id), TaskHistory.action.in_(("complete", "return")))
        .order_by(TaskHistory.id.desc()).limit(1))
    if done is not None:
        inst = db.session.get(ProcessInstance, done.instance_id)
        if inst is not None and can_view(user, inst):
            raise Conflict(f"该任务已由 {done.user_label} 于 {done.at:%Y-%m-%d %H:%M:%S} 办理，"
                           "您的提交未生效。", code="already_done")
    raise NotFound("任务不存在或不在您的数据范围内")


def _check_worker(user: Any, task: WorkTask) -> None:
    if not assignment.can_work(user, task):
        who = f"角色「{task.lane}」且数据范围覆盖该案件的用户" if task.lane else "流程发起人"
        raise Forbidden(f"您不能办理此任务：只有{who}可以办理。")
    if task.assignee_id is not None and task.assignee_id != user.id:
        raise Conflict("该任务已被他人认领，您不能办理。", code="claimed")


def check_running(inst: ProcessInstance) -> None:
    if inst.status == "error":
        raise Conflict("流程处于异常状态，等待平台管理员处理后才能继续办理。",
                       code="instance_error")
    if inst.status != "running":
        raise Conflict("流程已结束。", code="instance_closed")


def _task_event(action: str, task: WorkTask, user: Any) -> None:
    journal = Journal()
    journal.history(instance_id=task.instance_id, action=action, user=user, task=task)
    journal.audit(f"workflow.task.{action}", object_type="workflow_task", object_id=task.id,
                  user=user, summary={"instance": task.instance_id, "task": task.name})
    journal.write()


_BUMP_VERSION = (update(ProcessInstance)
                 .where(ProcessInstance.id == bindparam("b_id"),
                        ProcessInstance.version == bindparam("b_version"))
                 .values(version=ProcessInstance.version + 1)
                 .execution_options(synchronize_session=False))


def _guard(task: WorkTask) -> None:
    """The claim's guard: the instance's version goes up in the same transaction as the
    assignee changes. Every complete, return or timer step of the case writes under
    `WHERE version = <the version it read with the task>` (`persistence.save`), so a step
    that checked the assignee before a concurrent claim committed fails with `Conflict`
    instead of completing a task someone else holds; and a claim that loses to a concurrent
    step (its UPDATE waits on the step's row lock, then finds a new version) fails too."""
    inst = task.instance
    result = db.session.execute(_BUMP_VERSION, {"b_id": inst.id, "b_version": inst.version})
    if result.rowcount != 1:
        raise Conflict(STALE_MESSAGE, code="stale")
    set_committed_value(inst, "version", inst.version + 1)


def claim(*, task_id: str, user: Any) -> WorkTask:
    task = get_task(task_id=task_id, user=user)
    check_running(task.instance)
    _check_worker(user, task)
    if task.assignee_id == user.id:
        return task
    _guard(task)
    result = db.session.execute(update(WorkTask).where(
        WorkTask.id == task.id, WorkTask.assignee_id.is_(None)).values(assignee_id=user.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict("该任务刚被他人认领。", code="claimed")
    set_committed_value(task, "assignee_id", user.id)
    _task_event("claim", task, user)
    return task


def release(*, task_id: str, user: Any) -> WorkTask:
    task = get_task(task_id=task_id, user=user)
    is_admin = user.has_role("admin")
    if task.assignee_id is None:
        return task
    if task.assignee_id != user.id and not is_admin:
        raise Forbidden("只能释放自己认领的任务。")
    _guard(task)
    result = db.session.execute(update(WorkTask).where(
        WorkTask.id == task.id, WorkTask.assignee_id == task.assignee_id)
        .values(assignee_id=None).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(STALE_MESSAGE, code="stale")
    set_committed_value(task, "assignee_id", None)
    _task_event("release", task, user)
    return task


def task_form(task: WorkTask) -> dict[str, Any]:
    inst = task.instance
    return deploy.loaded_by_id(inst.version_id, inst.content_hash).form_for(task.name)


def task_data(inst: ProcessInstance, task_id: str | None = None) -> dict[str, Any]:
    """The data a task sees (or the latest data of the instance) - for display only."""
    loaded = deploy.loaded_by_id(inst.version_id, inst.content_hash)
    wf = engine.deserialize(loaded.bundle, inst.blob)
    if task_id:
        try:
            return dict(wf.get_task_from_id(UUID(task_id)).data)
        except Exception:  # noqa: BLE001 - display fallback to the last task's data
            pass
    last = wf.last_task or wf.task_tree
    return dict(last.data) if last is not None else {}


def complete(*, task_id: str, user: Any, data: dict[str, Any],
             posted: Any = None) -> ProcessInstance:
    """Complete a task with data validated against its form. `posted` (HTML form fields)
    is coerced to the schema's types first. A failing later service task leaves the
    instance in the error state (the user's work is kept) instead of raising."""
    task = get_task(task_id=task_id, user=user)
    inst = task.instance
    check_running(inst)
    _check_worker(user, task)
    loaded = deploy.loaded_by_id(inst.version_id, inst.content_hash)
    form = loaded.form_for(task.name)
    if posted is not None:
        from app.workflow.forms_html import coerce

        data = coerce(form, posted)
    data = dict(data or {})
    errors = engine.validate_data(form, data)
    errors.update({str(k): "字段名不得以下划线开头" for k in data
                   if not isinstance(k, str) or k.startswith("_")})
    opened = persistence.open_instance(inst, loaded)
    wf = opened.wf
    ctx = CaseContext.of(inst, user)
    submit_hook = hooks.SUBMIT.get((inst.process_key, task.name))
    extra: dict[str, Any] = {}
    with case(ctx):
        if submit_hook is not None:
            wf_task = wf.get_task_from_id(UUID(task.id))
            more, extra = submit_hook(data, dict(wf_task.data))
            for key, message in more.items():
                errors.setdefault(key, message)
        if errors:
            raise Invalid("表单校验未通过：" + "、".join(sorted(errors)), fields=errors)
        error = None
        try:
            engine.complete_task(wf, task.id, {**data, **extra})
        except engine.TaskNotReady as exc:
            raise Conflict(STALE_MESSAGE, code="stale") from exc
        except engine.FormValidationError as exc:
            raise Invalid("表单校验未通过", fields=exc.errors) from exc
        except Exception as exc:  # noqa: BLE001 - a later engine step failed
            wf_task = wf.get_task_from_id(UUID(task.id))
            if wf_task is None or wf_task.state == TaskState.READY:
                raise Invalid(f"任务无法完成：{persistence.describe(exc)}") from exc
            error = persistence.describe(exc)
        persistence.save(inst=inst, wf=wf, loaded=loaded, ctx=ctx, before=opened.before,
                         error=error)
    returned = data.get("decision") == "return"
    journal = ctx.journal
    journal.history(instance_id=inst.id, action="return" if returned else "complete",
                    user=user, task=task, data=data,
                    comment=data.get("comment") or data.get("explanation"))
    journal.audit("workflow.task.complete", object_type="workflow_task", object_id=task.id,
                  user=user, summary={"instance": inst.id, "task": task.name,
                                      "decision": data.get("decision"),
                                      "version": inst.version})
    if error:
        record_error(journal, inst, error, user)
    journal.write()
    return inst


def return_task(*, task_id: str, user: Any, comment: str) -> ProcessInstance:
    """Return with a comment: completes a review task with decision = return."""
    task = get_task(task_id=task_id, user=user)
    decision = task_form(task)["schema"].get("properties", {}).get("decision", {})
    if "return" not in (decision.get("enum") or []):
        raise Invalid("此任务不支持退回。", code="not_returnable")
    if not (comment or "").strip():
        raise Invalid("退回时必须填写意见", fields={"comment": "必填"})
    return complete(task_id=task_id, user=user, data={"decision": "return",
                                                      "comment": comment.strip()})


def retry(*, instance_id: int, user: Any) -> ProcessInstance:
    """Administrators: run the failed step again."""
    inst = get_instance(instance_id=instance_id, user=user)
    if inst.status != "error":
        raise Conflict("流程不处于异常状态，无需重试。", code="not_in_error")
    opened = persistence.open_instance(inst)
    persistence.reset_errors(opened.wf)
    ctx = CaseContext.of(inst, user)
    with case(ctx):
        error = persistence.run_steps(opened.wf)
        persistence.save(inst=inst, wf=opened.wf, loaded=opened.loaded, ctx=ctx,
                         before=opened.before, error=error)
    ctx.journal.history(instance_id=inst.id, action="retry", user=user, comment=error)
    ctx.journal.audit("workflow.instance.retry", object_type="workflow_instance",
                      object_id=inst.id, user=user,
                      summary={"ok": error is None, "error": (error or "")[:500]})
    ctx.journal.write()
    return inst


def withdrawable(*, inst: ProcessInstance, user: Any) -> bool:
    """The initiator may take a case back while nobody has worked on it since it came to
    the reviewers: every open task is in a reviewing lane and unclaimed, and the last
    step on the timeline is the initiator's own."""
    if inst.status != "running" or inst.initiator_id != getattr(user, "id", None):
        return False
    tasks = current_tasks(inst=inst)
    if not tasks or any(t.lane in (None, "enterprise") or t.assignee_id for t in tasks):
        return False
    last = db.session.scalars(select(TaskHistory).where(TaskHistory.instance_id == inst.id)
                              .order_by(TaskHistory.id.desc()).limit(1)).first()
    return last is not None and last.user_id == user.id


def withdraw(*, instance_id: int, user: Any, reason: str = "") -> ProcessInstance:
    """撤回: the case ends as withdrawn before review starts (a new one may be started)."""
    inst = get_instance(instance_id=instance_id, user=user)
    check_running(inst)
    if not withdrawable(inst=inst, user=user):
        raise Conflict("审核已经开始（或您不是发起人），不能撤回。", code="not_withdrawable")
    opened = persistence.open_instance(inst)
    ctx = CaseContext.of(inst, user)
    with case(ctx):
        opened.wf.cancel()
        persistence.save(inst=inst, wf=opened.wf, loaded=opened.loaded, ctx=ctx,
                         before=opened.before)
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == inst.id)
                       .values(status="withdrawn"))
    set_committed_value(inst, "status", "withdrawn")
    ctx.journal.history(instance_id=inst.id, action="withdraw", user=user,
                        comment=reason or None)
    ctx.journal.audit("workflow.instance.withdraw", object_type="workflow_instance",
                      object_id=inst.id, user=user, summary={"reason": reason or None})
    ctx.journal.write()
    return inst


# ---- reading ---------------------------------------------------------------------------

def history(*, inst: ProcessInstance) -> list[TaskHistory]:
    return list(db.session.scalars(select(TaskHistory).where(
        TaskHistory.instance_id == inst.id).order_by(TaskHistory.at, TaskHistory.id)))


def current_tasks(*, inst: ProcessInstance) -> list[WorkTask]:
    return list(db.session.scalars(select(WorkTask).where(
        WorkTask.instance_id == inst.id).order_by(WorkTask.created_at)))


def errored(*, limit: int = 200) -> list[ProcessInstance]:
    return list(db.session.scalars(select(ProcessInstance).where(
        ProcessInstance.status == "error").order_by(ProcessInstance.updated_at.desc())
        .limit(limit)))
