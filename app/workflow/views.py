"""Pages: inbox (我的待办 / 可认领 / 已办), task, case timeline, start, designer, errors.

Thin: every action is a service call; a service error becomes a flashed Chinese message
(never a 500); the request commits at its edge (app/uow.py) or rolls back on 4xx.
"""

from __future__ import annotations

import json
from datetime import datetime
from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_security import auth_required, current_user, permissions_required
from sqlalchemy import select

from app.extensions import db
from app.identity.roles import ROLES
from app.web.request_memo import memo
from app.workflow import assignment, attachments, deploy, forms_html, hooks, service
from app.workflow.errors import Invalid, WorkflowError
from app.workflow.models import STATUSES, ProcessModel

bp = Blueprint("workflow", __name__)
ACTIONS = {"start": "发起", "claim": "认领", "release": "释放", "complete": "办理",
           "return": "退回", "timer": "定时器触发", "error": "自动步骤出错", "retry": "管理员重试",
           "message": "收到消息", "withdraw": "撤回"}
BOXES = {"mine": "我的待办", "claimable": "可认领", "done": "已办"}


def _english() -> bool:
    from flask_babel import get_locale

    return str(get_locale()) == "en"


def _filter() -> assignment.InboxFilter:
    due = request.args.get("due_before") or None
    try:
        due_at = datetime.fromisoformat(due) if due else None
    except ValueError:
        due_at = None
    return assignment.InboxFilter(
        process=request.args.get("process") or None,
        enterprise=(request.args.get("enterprise") or "").strip() or None,
        region=(request.args.get("region") or "").strip() or None,
        due_before=due_at, overdue=request.args.get("overdue") == "1")


@bp.route("/workflow/inbox")
@auth_required("session")
def inbox():
    counts = task_counts(current_user)
    box = request.args.get("box") or ("claimable" if counts["claimable"] and not counts["mine"]
                                      else "mine")
    box = box if box in BOXES else "mine"
    flt = _filter()
    if box == "done":
        rows = db.session.execute(assignment.done_query(user=current_user, flt=flt)
                                  .limit(200)).all()
    else:
        rows = db.session.scalars(assignment.tasks_query(user=current_user, box=box, flt=flt)
                                  .limit(200)).all()
    models = db.session.scalars(select(ProcessModel).order_by(ProcessModel.key)).all()
    return render_template("workflow/inbox.html", box=box, boxes=BOXES, rows=rows, flt=flt,
                           counts=counts, models=models,
                           actions=ACTIONS, args=request.args)


def _task_page(task, *, values: dict | None = None, errors: dict | None = None,
               status: int = 200):
    inst = task.instance
    form = service.task_form(task)
    data = service.task_data(inst, task.id)
    review = hooks.CONTEXT.get(inst.process_key)
    return render_template(
        "workflow/task.html", task=task, inst=inst, data=data,
        review=review(inst, data) if review is not None else None,
        fields=forms_html.fields(form, values if values is not None else {}, errors,
                                 english=_english()),
        form_error=(errors or {}).get("_form"), can_work=assignment.can_work(current_user, task),
        returnable="return" in (form["schema"].get("properties", {}).get("decision", {})
                                .get("enum") or []),
        history=service.history(inst=inst), actions=ACTIONS,
        files=attachments.for_instance(inst=inst),
        may_upload=attachments.may_upload(current_user, inst)), status


@bp.route("/workflow/tasks/<string:task_id>", methods=["GET", "POST"])
@auth_required("session")
def task_page(task_id: str):
    try:
        task = service.get_task(task_id=task_id, user=current_user)
    except WorkflowError as exc:
        flash(exc.message, "warning")
        return redirect(url_for("workflow.inbox"))
    if request.method == "GET":
        return _task_page(task)
    action = request.form.get("action", "complete")
    inst_id = task.instance_id
    try:
        if action == "claim":
            service.claim(task_id=task_id, user=current_user)
            flash("已认领，请办理。", "success")
            return redirect(url_for("workflow.task_page", task_id=task_id))
        if action == "release":
            service.release(task_id=task_id, user=current_user)
            flash("已释放，任务回到可认领列表。", "info")
            return redirect(url_for("workflow.inbox", box="claimable"))
        inst = service.complete(task_id=task_id, user=current_user, data={},
                                posted=request.form)
    except Invalid as exc:
        flash(exc.message if not exc.fields else "请修正标红的字段后再提交。", "danger")
        values = forms_html.coerce(service.task_form(task), request.form)
        return _task_page(task, values=values, errors=exc.fields or {"_form": exc.message},
                          status=422)
    except WorkflowError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("workflow.instance_page", instance_id=inst_id))
    if inst.status == "error":
        flash(service.USER_ERROR_MESSAGE, "warning")
    else:
        flash("办理完成。", "success")
    return redirect(url_for("workflow.inbox"))


@bp.route("/workflow/instances/<int:instance_id>")
@auth_required("session")
def instance_page(instance_id: int):
    try:
        inst = service.get_instance(instance_id=instance_id, user=current_user)
    except WorkflowError:
        abort(404)
    return render_template(
        "workflow/instance.html", inst=inst, data=service.task_data(inst),
        history=service.history(inst=inst), tasks=service.current_tasks(inst=inst),
        actions=ACTIONS, files=attachments.for_instance(inst=inst),
        may_upload=attachments.may_upload(current_user, inst),
        is_admin=current_user.has_permission("case.admin"),
        user_error=service.user_error_message(inst),
        may_withdraw=service.withdrawable(inst=inst, user=current_user))


@bp.route("/workflow/instances/<int:instance_id>/withdraw", methods=["POST"])
@auth_required("session")
def withdraw(instance_id: int):
    try:
        service.withdraw(instance_id=instance_id, user=current_user,
                         reason=(request.form.get("reason") or "").strip()[:500])
        flash("案件已撤回，可修改数据后重新发起。", "success")
    except WorkflowError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("workflow.instance_page", instance_id=instance_id))


@bp.route("/workflow/instances/<int:instance_id>/attachments", methods=["POST"])
@auth_required("session")
def upload(instance_id: int):
    back = request.form.get("next") or url_for("workflow.instance_page", instance_id=instance_id)
    try:
        inst = service.get_instance(instance_id=instance_id, user=current_user)
        storage = request.files.get("file")
        attachments.add(inst=inst, user=current_user,
                        filename=storage.filename if storage else "",
                        content=storage.read() if storage else b"",
                        content_type=storage.mimetype if storage else None,
                        task_name=request.form.get("task_name") or None)
        flash("附件已加密保存。", "success")
    except WorkflowError as exc:
        flash(exc.message, "danger")
        return redirect(back), 303
    return redirect(back if back.startswith("/") else "/")


@bp.route("/workflow/attachments/<int:attachment_id>")
@auth_required("session")
def download(attachment_id: int):
    try:
        row = attachments.get(attachment_id=attachment_id)
        service.get_instance(instance_id=row.instance_id, user=current_user)
    except WorkflowError:
        abort(404)
    content = attachments.read(row=row, user=current_user)
    return send_file(BytesIO(content), mimetype=attachments.content_type_for(row.filename),
                     as_attachment=True,
                     download_name=row.filename)


@bp.route("/workflow/start", methods=["GET", "POST"])
@auth_required("session")
def start_page():
    models = deploy.get_all()
    errors: dict[str, Any] = {}
    chosen = request.values.get("model") or (models[0].key if models else "")
    try:
        start_form = service.start_form(model=chosen) if chosen else None
    except WorkflowError:
        start_form, chosen = None, ""
    values: dict[str, Any] = {}
    if request.method == "POST":
        data = {k: v for k, v in request.form.items()
                if k in ("enterprise_uscc", "year", "month") and v.strip()}
        if start_form is not None:
            values = forms_html.coerce(start_form, request.form)
            data.update(values)
        try:
            inst = service.start(model=chosen, data=data, user=current_user)
            flash(f"已发起：{inst.title}", "success")
            return redirect(url_for("workflow.instance_page", instance_id=inst.id))
        except WorkflowError as exc:
            errors = exc.fields or {}
            if not errors.get("open_case"):  # the page shows that one with its link
                flash(exc.message, "danger")
    fields = forms_html.fields(start_form, values, errors, english=_english()) \
        if start_form is not None else []
    return render_template("workflow/start.html", models=models, errors=errors,
                           form=request.form, year=datetime.now().year - 1, chosen=chosen,
                           start_fields=fields)


@bp.route("/workflow/admin/errors")
@auth_required("session")
@permissions_required("case.admin")
def errors_page():
    return render_template("workflow/errors.html", rows=service.errored())


@bp.route("/workflow/admin/instances/<int:instance_id>/retry", methods=["POST"])
@auth_required("session")
@permissions_required("case.admin")
def retry(instance_id: int):
    try:
        inst = service.retry(instance_id=instance_id, user=current_user)
        flash("重试成功，流程已继续。" if inst.status != "error" else f"重试仍失败：{inst.error}",
              "success" if inst.status != "error" else "danger")
    except WorkflowError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("workflow.errors_page"))


@bp.route("/designer")
@auth_required("session")
@permissions_required("designer.edit")
def designer():
    models = deploy.get_all()
    roles = [{"name": r.name, "label": r.label} for r in ROLES]
    return render_template("workflow/designer.html", models=models, roles=roles,
                           can_deploy=current_user.has_permission("designer.deploy"))


def task_counts(user: Any) -> dict[str, int]:
    """The user's task counts, once per request (badge, inbox tabs and dashboard)."""
    return memo(("workflow.counts", user.id), lambda: assignment.counts(user=user))


def inbox_badge(user: Any) -> int:
    """Open tasks the user may work: the 待办 badge."""
    return sum(task_counts(user).values())


def nav_context() -> dict[str, Any]:
    """Template helpers of the workflow pages."""
    return {"workflow_statuses": STATUSES,
            "json_pretty": lambda v: json.dumps(v, ensure_ascii=False, indent=2, default=str)}
