"""Pages: the public application form, the administrator's review, the invitation (agreement
and password) and the organisation's workspace. Thin: the services decide."""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_security import auth_required, current_user, permissions_accepted

from app.crypto.sm4 import DecryptionError
from app.extensions import csrf
from app.identity.scope import current_scope
from app.onboarding import agreement, flow, lifecycle, qualifications, service
from app.onboarding.models import KINDS, STATUSES
from app.onboarding.service import ApplicationError

bp = Blueprint("onboarding", __name__, url_prefix="/onboarding")
FORM_FIELDS = ("kind", "name", "uscc", "contact_name", "contact_phone", "contact_email",
               "intended_use")
MAX_FORM = 16 * 1024


def _protect() -> None:
    """These forms take no login, so no auth decorator checks their CSRF token."""
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def _posted_application(fields) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """The form's fields and its qualification files, after the CSRF check and the size
    bound (413 before anything is read)."""
    _protect()
    limit = MAX_FORM + qualifications.MAX_FILES * int(current_app.config.get(
        "CECP_ONBOARDING_DOC_MAX_BYTES", qualifications.MAX_BYTES))
    if (request.content_length or 0) > limit:
        abort(413)
    data = {k: request.form.get(k, "") for k in fields}
    files = [(f.filename or "", f.read()) for f in request.files.getlist("documents")
             if f.filename]
    return data, files


@bp.route("/apply", methods=["GET", "POST"])
def apply():
    """No login: the organisation fills in the form; errors come back field by field."""
    kinds = {k: v[0] for k, v in KINDS.items()}
    if request.method == "GET":
        return render_template("onboarding/apply.html", data={}, errors={}, kinds=kinds)
    data, files = _posted_application(FORM_FIELDS)
    try:
        doc_errors = qualifications.check(files)
        try:
            app_ = service.create(data=data, source_ip=request.remote_addr)
        except ApplicationError as exc:
            raise ApplicationError({**exc.fields, **doc_errors}, status=exc.status,
                                   message=exc.message) from None
        if doc_errors:
            raise ApplicationError(doc_errors)
        qualifications.add_all(application=app_, files=files)
    except ApplicationError as exc:
        return render_template("onboarding/apply.html", data=data, errors=exc.fields,
                               kinds=kinds, message=exc.message), exc.status
    return render_template("onboarding/applied.html", application=app_)


@bp.route("/review", endpoint="review_list")
@auth_required("session")
@permissions_accepted("users.manage")
def review_list():
    status = request.args.get("status") or None
    items = service.list_(scope=current_scope(), status=status)
    return render_template("onboarding/review_list.html", items=items, status=status,
                           statuses=STATUSES)


@bp.route("/review/<string:uid>", methods=["GET", "POST"])
@auth_required("session")
@permissions_accepted("users.manage")
def review(uid: str):
    app_ = service.get(uid=uid, scope=current_scope())
    if app_ is None:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.form.get("action", "")
        reason = request.form.get("reason", "")
        token = resubmit = None
        try:
            if action in lifecycle.DECISIONS:  # completes the case's review task
                issued = flow.decide(app_, decision=action, reason=reason, user=current_user)
                token, resubmit = issued.get("invite"), issued.get("resubmit")
            elif action == "reissue":  # invitation, or a returned one's resubmission link
                issued = flow.reissue(app_)
                token, resubmit = issued.get("invite"), issued.get("resubmit")
            elif action == "suspend":
                lifecycle.suspend(app_, reason=reason)
            elif action == "reactivate":
                flow.reactivate(app_, reason=reason, user=current_user)
            else:
                raise ApplicationError({"action": "未知操作"})
        except ApplicationError as exc:
            errors = exc.fields
        else:
            if token:
                link = url_for("onboarding.invite", token=token, _external=True)
                flash(f"已批准。请将一次性邀请链接发送给申请机构联系人：{link}", "success")
            elif resubmit:
                link = url_for("onboarding.resubmit", token=resubmit, _external=True)
                flash(f"已退回。请将一次性补充材料链接发送给申请机构联系人：{link}", "success")
            else:
                flash(f"已处理：{app_.status_label}", "success")
            return redirect(url_for("onboarding.review", uid=uid))
    return render_template("onboarding/review.html", a=app_, errors=errors,
                           members=lifecycle.members(app_),
                           documents=qualifications.list_for(application=app_)), \
        (422 if errors else 200)


@bp.route("/review/<string:uid>/documents/<string:doc>")
@auth_required("session")
@permissions_accepted("users.manage")
def document(uid: str, doc: str):
    """A qualification document, as a download with the type the platform recognised."""
    app_ = service.get(uid=uid, scope=current_scope())
    row = qualifications.get(application=app_, uid=doc) if app_ is not None else None
    if row is None:
        abort(404)
    try:
        content = qualifications.read(row=row, user=current_user)
    except DecryptionError:
        current_app.logger.error("onboarding document %s failed its integrity check", row.id)
        abort(409, description="文件未通过完整性校验（可能已损坏或被篡改），无法打开")
    return Response(content, mimetype=row.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@bp.route("/resubmit/<string:token>", methods=["GET", "POST"])
def resubmit(token: str):
    """A returned application: the applicant changes what was asked and adds documents;
    the same case goes back to the platform's review."""
    app_ = flow.returned_for(token)
    if app_ is None:
        abort(404)
    data = {"name": app_.name, "contact_name": app_.contact_name,
            "contact_phone": app_.contact_phone, "contact_email": app_.contact_email,
            "intended_use": app_.intended_use}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, files = _posted_application(data)
        try:
            flow.resubmit(token=token, data=data, files=files)
        except ApplicationError as exc:
            errors = exc.fields
        else:
            return render_template("onboarding/applied.html", application=app_)
    return render_template("onboarding/resubmit.html", a=app_, data=data, errors=errors), \
        (422 if errors else 200)


@bp.route("/invite/<string:token>", methods=["GET", "POST"])
def invite(token: str):
    """The organisation's administrator accepts the agreement and sets a password."""
    inv = lifecycle.invitation_for(token)
    if inv is None:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        _protect()
        password = request.form.get("password", "")
        if password != request.form.get("password_confirm", ""):
            errors["password_confirm"] = "两次输入的密码不一致"
        else:
            try:
                lifecycle.accept(token=token, password=password,
                                 accepted=request.form.get("accept") == "yes",
                                 version=request.form.get("agreement_version"))
            except ApplicationError as exc:
                errors = exc.fields
            else:
                flash("机构已开通，请使用联系邮箱和刚设置的密码登录。", "success")
                return redirect(url_for("security.login"))
    return render_template("onboarding/invite.html", a=inv.application, errors=errors,
                           agreement=agreement), (422 if errors else 200)


@bp.route("/workspace", methods=["GET", "POST"])
@auth_required("session")
@permissions_accepted("institution.workspace")
def workspace():
    items = [a for a in service.list_(scope=current_scope())
             if a.status in ("active", "suspended")]
    app_ = items[0] if items and not current_scope().all else None
    manage = app_ is not None and current_user.has_permission("org.manage")
    errors: dict[str, str] = {}
    form: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not manage:
            abort(403)
        try:
            if request.form.get("toggle"):
                user_id = request.form["toggle"]
                lifecycle.set_member_active(app_, user_id=int(user_id) if user_id.isdigit()
                                            else 0, active=request.form.get("active") == "1")
                flash("已更新账户状态", "success")
            else:
                form = {k: request.form.get(k, "") for k in ("email", "display_name")}
                if request.form.get("password", "") != request.form.get("password_confirm"):
                    raise ApplicationError({"password_confirm": "两次输入的密码不一致"})
                lifecycle.add_member(app_, email=form["email"],
                                     password=request.form.get("password", ""),
                                     display_name=form["display_name"] or None)
                flash("已添加本机构账户", "success")
        except ApplicationError as exc:
            errors, status = exc.fields, exc.status
        else:
            return redirect(url_for("onboarding.workspace"))
    users = lifecycle.members(app_) if manage else []
    return render_template("onboarding/workspace.html", a=app_, users=users, manage=manage,
                           errors=errors, form=form), status
