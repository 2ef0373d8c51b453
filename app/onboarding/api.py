"""/api/v1/onboarding: the public application, the platform's review and suspension, the
invitation, and the organisation's own view (scoped: one organisation never sees another)."""

from __future__ import annotations

from flask import current_app, request
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import api_error
from app.extensions import csrf
from app.identity.scope import current_scope
from app.onboarding import flow, lifecycle, service
from app.onboarding.service import ApplicationError

blp = Blueprint("onboarding_api", __name__, url_prefix="/api/v1/onboarding",
                description="入驻 Onboarding (R-6.5)")
MAX_BODY = 16 * 1024


def _error(exc: ApplicationError):
    return api_error(exc.status, exc.message, code="invalid" if exc.status == 422 else None,
                     fields=exc.fields)


def _body():
    if (request.content_length or 0) > MAX_BODY:
        raise ApplicationError({"body": f"请求体不能超过 {MAX_BODY // 1024} KB"}, status=413,
                               message="请求体过大")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApplicationError({"body": "请求体必须是 JSON 对象"}, status=400,
                               message="请求体必须是 JSON 对象")
    return data


def _admin_only():
    if not current_user.has_permission("users.manage"):
        return api_error(403, "只有平台管理员可以审核入驻申请", code="forbidden")
    return None


def _admin_application(uid: str):
    """(application, None) for a platform administrator, else (None, the 403 or 404)."""
    refused = _admin_only()
    if refused:
        return None, refused
    app_ = service.get(uid=uid, scope=current_scope())
    if app_ is None:
        return None, api_error(404, "申请不存在", code="not_found")
    return app_, None


def _invite_url(token: str) -> str:
    base = request.host_url.rstrip("/")
    return f"{base}/onboarding/invite/{token}"


@blp.route("/applications", methods=["POST"])
@csrf.exempt
def create_application():
    """Apply to join (no account needed). 201 with the application reference."""
    try:
        app_ = service.create(data=_body(), source_ip=request.remote_addr)
    except ApplicationError as exc:
        return _error(exc)
    return {"id": app_.uid, "status": app_.status, "status_label": app_.status_label}, 201


@blp.route("/applications", methods=["GET"])
@auth_required("token", "session")
def list_applications():
    """The platform administrator sees all; an organisation only its own."""
    status = request.args.get("status") or None
    items = service.list_(scope=current_scope(), status=status)
    return {"items": [lifecycle.summary(a) for a in items]}


@blp.route("/applications/<string:uid>", methods=["GET"])
@auth_required("token", "session")
def get_application(uid: str):
    app_ = service.get(uid=uid, scope=current_scope())
    if app_ is None:
        return api_error(404, "申请不存在或不在您的数据范围内", code="not_found")
    return lifecycle.summary(app_, detail=True)


@blp.route("/applications/<string:uid>/decision", methods=["POST"])
@auth_required("token", "session")
def decide(uid: str):
    """{"decision": "approve"|"return"|"reject", "reason": "..."}; approval returns the
    single-use invitation link for the organisation's administrator."""
    app_, refused = _admin_application(uid)
    if refused:
        return refused
    try:
        data = _body()
        issued = flow.decide(app_, decision=data.get("decision") or "",
                             reason=data.get("reason"), user=current_user)
    except ApplicationError as exc:
        return _error(exc)
    return {**lifecycle.summary(app_), **_links(issued)}


@blp.route("/applications/<string:uid>/<any(suspend,reactivate):action>", methods=["POST"])
@auth_required("token", "session")
def suspend_or_reactivate(uid: str, action: str):
    app_, refused = _admin_application(uid)
    if refused:
        return refused
    try:
        data = _body()
        if action == "suspend":
            n = lifecycle.suspend(app_, reason=data.get("reason") or "")
        else:  # completes the re-activation review task (opened first if none waits)
            n = flow.reactivate(app_, reason=data.get("reason") or "", user=current_user,
                                decision=data.get("decision") or "approve")
    except ApplicationError as exc:
        return _error(exc)
    return {**lifecycle.summary(app_), "accounts": n}


def _links(issued: dict) -> dict:
    base = request.host_url.rstrip("/")
    out = {}
    if issued.get("invite"):
        out["invitation_url"] = _invite_url(issued["invite"])
    if issued.get("resubmit"):
        out["resubmit_url"] = f"{base}/onboarding/resubmit/{issued['resubmit']}"
    return out


@blp.route("/applications/<string:uid>/links", methods=["POST"])
@auth_required("token", "session")
def reissue_link(uid: str):
    """A fresh single-use link for the applicant (earlier ones stop working): the
    invitation of an approved application, the resubmission link of a returned one."""
    app_, refused = _admin_application(uid)
    if refused:
        return refused
    try:
        issued = flow.reissue(app_)
    except ApplicationError as exc:
        return _error(exc)
    return {**lifecycle.summary(app_), **_links(issued)}


@blp.route("/applications/<string:uid>/reactivation-request", methods=["POST"])
@auth_required("token", "session")
def reactivation_request(uid: str):
    """Open a re-activation review task (the inbox of the platform administrators):
    {"reason": "..."}; 201 with the case id."""
    app_, refused = _admin_application(uid)
    if refused:
        return refused
    try:
        inst = flow.request_reactivation(app_, reason=_body().get("reason") or "",
                                         user=current_user)
    except ApplicationError as exc:
        return _error(exc)
    return {**lifecycle.summary(app_), "case_id": inst.id}, 201


@blp.route("/resubmissions/<string:token>", methods=["POST"])
@csrf.exempt
def resubmit(token: str):
    """A returned application's changes through its single-use link (no account):
    any of name, contact_name, contact_phone, contact_email, intended_use."""
    try:
        app_ = flow.resubmit(token=token, data=_body())
    except ApplicationError as exc:
        return _error(exc)
    return {"id": app_.uid, "status": app_.status, "status_label": app_.status_label}


@blp.route("/invitations/<string:token>/accept", methods=["POST"])
@csrf.exempt
def accept_invitation(token: str):
    """{"password": "...", "accept_agreement": true, "agreement_version": "..."}."""
    try:
        data = _body()
        user = lifecycle.accept(token=token, password=data.get("password") or "",
                                accepted=data.get("accept_agreement") is True,
                                version=data.get("agreement_version"))
    except ApplicationError as exc:
        return _error(exc)
    current_app.logger.info("onboarding: organisation administrator %s provisioned", user.id)
    return {"email": user.email, "status": "active"}, 201


def _my_org():
    if current_scope().all:
        return None
    items = [a for a in service.list_(scope=current_scope())
             if a.status in ("active", "suspended")]
    return items[0] if items else None


def _user_json(u) -> dict:
    return {"id": u.id, "email": u.email, "name": u.display_name, "active": u.active,
            "roles": sorted(u.role_names)}


@blp.route("/organisation", methods=["GET"])
@auth_required("token", "session")
def my_organisation():
    """The caller's own organisation and its accounts (never another's)."""
    app_ = _my_org()
    if app_ is None:
        return api_error(404, "您的账户不属于任何入驻机构", code="not_found")
    out = lifecycle.summary(app_)
    if current_user.has_permission("org.manage"):
        out["users"] = [_user_json(u) for u in lifecycle.members(app_)]
    return out


@blp.route("/organisation/users", methods=["POST"])
@auth_required("token", "session")
def add_member():
    """The organisation administrator adds an account to its own organisation:
    {"email", "password", "display_name"}."""
    if not current_user.has_permission("org.manage"):
        return api_error(403, "只有机构管理员可以管理本机构账户", code="forbidden")
    try:
        data = _body()
        user = lifecycle.add_member(_my_org(), email=data.get("email") or "",
                                    password=data.get("password") or "",
                                    display_name=data.get("display_name"))
    except ApplicationError as exc:
        return _error(exc)
    return _user_json(user), 201


@blp.route("/organisation/users/<int:user_id>/<any(disable,enable):action>",
           methods=["POST"])
@auth_required("token", "session")
def member_active(user_id: int, action: str):
    if not current_user.has_permission("org.manage"):
        return api_error(403, "只有机构管理员可以管理本机构账户", code="forbidden")
    try:
        user = lifecycle.set_member_active(_my_org(), user_id=user_id,
                                           active=action == "enable")
    except ApplicationError as exc:
        return _error(exc)
    return _user_json(user)
