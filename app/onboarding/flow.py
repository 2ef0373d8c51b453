"""The BPMN side of onboarding (`processes/institution_onboarding`): an application starts
an instance; the platform administrator's review task (lane `admin`) approves, returns for
more documents or rejects; an approval issues the single-use invitation and waits for its
acceptance (message `onboarding-invitation-accepted`), then switches the workspace on; a
return waits for the applicant's changes through a single-use link (message
`onboarding-resubmitted`) and goes back to the same review task. A suspended organisation
comes back only through a re-activation review task of the same model (`mode` reactivate).

The API and the pages call `decide`, `resubmit`, `reactivate`: they complete the workflow
task, so there is one path (the inbox page runs the same hooks). Writes are deferred with
`context.after_save`, after the instance's guarded UPDATE, so a losing concurrent decision
writes nothing; a decision on an application that is no longer in review is a 409.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.onboarding import lifecycle
from app.onboarding.models import Application
from app.onboarding.service import ApplicationError
from app.workflow import context, hooks
from app.workflow.engine import ServiceError, register_service
from app.workflow.errors import Conflict, Invalid, NotFound, WorkflowError
from app.workflow.models import ProcessInstance, WorkTask

PROCESS = "institution_onboarding"
ACCEPTED = "onboarding-invitation-accepted"
RESUBMITTED = "onboarding-resubmitted"
#: what the deferred steps of this request produced for the caller (plain tokens are never
#: stored in the case): {"invite": token, "resubmit": token, "accounts": n}
_ISSUED: ContextVar[dict[str, Any] | None] = ContextVar("onboarding_issued", default=None)


def ensure_deployed(name: str) -> None:
    """The platform's own models are deployed on first use (also on a fresh demo)."""
    from app.workflow import deploy

    try:
        deploy.get_latest(key_or_id=name)
    except NotFound:
        deploy.deploy(files=deploy.builtin_files(name), user=None)


def _issued() -> dict[str, Any]:
    found = _ISSUED.get()
    if found is None:
        found = {}
        _ISSUED.set(found)
    return found


def take_issued() -> dict[str, Any]:
    """What the steps just run issued (invitation / resubmission token, accounts)."""
    found = _ISSUED.get() or {}
    _ISSUED.set(None)
    return found


def as_application_error(exc: WorkflowError) -> ApplicationError:
    status = getattr(exc, "status", 409)
    fields = getattr(exc, "fields", None) or {"decision": exc.message}
    return ApplicationError(fields, status=status, message=exc.message)


# ---- the case ------------------------------------------------------------------------------


def open_case(app_: Application, *, user: Any, mode: str = "apply",
              reason: str | None = None) -> ProcessInstance:
    from app.workflow import service as workflow

    ensure_deployed(PROCESS)
    inst = workflow.start(model=PROCESS, data={"application_id": app_.id, "mode": mode,
                                               "request_reason": reason}, user=user)
    app_.case_id = inst.id
    return inst


def open_task(app_: Application, name: str) -> WorkTask | None:
    if app_.case_id is None:
        return None
    return db.session.scalar(select(WorkTask).where(WorkTask.instance_id == app_.case_id,
                                                    WorkTask.name == name))


def _app_of(data: dict[str, Any]) -> Application:
    app_ = db.session.get(Application, int(data.get("application_id") or 0))
    if app_ is None:
        raise ServiceError("入驻申请不存在")
    return app_


@hooks.on_start(PROCESS)
def _on_start(data: dict[str, Any], enterprise: Any) -> dict[str, Any]:
    try:
        app_ = db.session.get(Application, int(data.get("application_id")))
    except (TypeError, ValueError):
        app_ = None
    if app_ is None:
        raise Invalid("入驻申请不存在", fields={"application_id": "入驻申请不存在"})
    mode = "reactivate" if data.get("mode") == "reactivate" else "apply"
    return {"application_id": app_.id, "application_uid": app_.uid, "mode": mode,
            "name": app_.name, "kind": app_.kind, "kind_label": app_.kind_label,
            "uscc": app_.uscc, "request_reason": data.get("request_reason"),
            "decision": None}


@hooks.title(PROCESS)
def _title(data: dict[str, Any], enterprise: Any) -> str:
    what = "恢复审核" if data.get("mode") == "reactivate" else "入驻审核"
    return f"{data.get('name')}（{data.get('kind_label')}）{what}"


@hooks.case_institution(PROCESS)
def _case_institution(data: dict[str, Any]) -> str | None:
    return data.get("uscc")


# ---- review --------------------------------------------------------------------------------


def decision_errors(app_: Application, *, decision: str, reason: str | None) -> None:
    """The same refusals as before the process: 422 naming the field, 409 when decided."""
    lifecycle.check_decision(app_, decision=decision, reason=reason)


@hooks.on_submit(PROCESS, "review")
def _on_review(data: dict[str, Any], task_data: dict[str, Any]):
    app_ = _app_of(task_data)
    try:
        decision_errors(app_, decision=data.get("decision") or "", reason=data.get("reason"))
    except ApplicationError as exc:
        if exc.status == 409:
            raise Conflict(exc.message, code="already_decided") from None
        return exc.fields, {}
    decision, reason = data["decision"], (data.get("reason") or "").strip()

    def write(_instance_id: int) -> None:
        lifecycle.decide(app_, decision=decision, reason=reason)
        if decision == "return":
            _issued()["resubmit"] = _resubmit_link(app_)

    context.after_save(write)
    return {}, {"reason": reason}


def decide(app_: Application, *, decision: str, reason: str | None, user: Any) -> dict:
    """The API's and the review page's decision: completes the case's review task.
    Returns what it issued ({"invite": token} or {"resubmit": token})."""
    from app.workflow import service as workflow

    decision_errors(app_, decision=decision, reason=reason)
    task = open_task(app_, "review")
    if task is None:  # an application from before the process: its case starts now
        open_case(app_, user=user)
        task = open_task(app_, "review")
    if task is None:
        raise ApplicationError({"decision": "审核任务不存在"}, status=409)
    _ISSUED.set({})
    try:
        workflow.complete(task_id=task.id, user=user,
                          data={"decision": decision, "reason": (reason or "").strip()})
    except WorkflowError as exc:
        raise as_application_error(exc) from None
    return take_issued()


@register_service("onboarding.invite", replace=True)
def _svc_invite(data: dict[str, Any]) -> dict[str, Any]:
    app_ = _app_of(data)
    context.after_save(lambda _id: _issued().__setitem__("invite", lifecycle.invite(app_)))
    return {"invited": True}


def accepted(app_: Application, *, user: Any) -> None:
    """The invitation was accepted: the waiting step goes on and switches the workspace on
    (an application from before the process is switched on directly)."""
    from app.workflow.messaging.service import deliver

    inst = db.session.get(ProcessInstance, app_.case_id) if app_.case_id else None
    if inst is None or not deliver(instance=inst, name=ACCEPTED,
                                   payload={"admin_user_id": user.id}, user=user):
        lifecycle.activate(app_, user=user)


@register_service("onboarding.activate", replace=True)
def _svc_activate(data: dict[str, Any]) -> dict[str, Any]:
    app_ = _app_of(data)
    actor = context.current().actor if context.current() else None
    context.after_save(lambda _id: lifecycle.activate(app_, user=actor))
    return {"activated": True}


# ---- return for more documents: the applicant's single-use link -----------------------------


def _resubmit_link(app_: Application) -> str:
    token = secrets.token_urlsafe(32)
    hours = int(current_app.config.get("CECP_ONBOARDING_INVITE_HOURS", 72))
    app_.resubmit_token_hash = lifecycle._token_hash(token)
    app_.resubmit_expires_at = utcnow() + timedelta(hours=hours)
    return token


def reissue(app_: Application) -> dict[str, str]:
    """A fresh link for the applicant (earlier ones stop working): the invitation of an
    approved application, the resubmission link of a returned one - e.g. after a decision
    taken in the inbox, whose page does not show links."""
    if app_.status == "returned":
        token = _resubmit_link(app_)
        audit.record("onboarding.resubmit_link", object_type="onboarding_application",
                     object_id=app_.id, summary={"uscc": app_.uscc})
        return {"resubmit": token}
    return {"invite": lifecycle.reissue(app_)}


def returned_for(token: str) -> Application | None:
    """The returned application behind a resubmission link (unused, unexpired)."""
    if not token or len(token) > 100:
        return None
    app_ = db.session.scalar(select(Application).where(
        Application.resubmit_token_hash == lifecycle._token_hash(token)))
    if app_ is None or app_.status != "returned" or app_.resubmit_expires_at is None \
            or app_.resubmit_expires_at <= utcnow():
        return None
    return app_


def resubmit(*, token: str, data: dict[str, Any],
             files: list[tuple[str, bytes]] | None = None) -> Application:
    """The applicant's changes and documents: checked as a new application (type and USCC
    stay), then the same instance goes back to the review task."""
    from app.onboarding import qualifications, service
    from app.workflow.messaging.service import deliver

    app_ = returned_for(token)
    if app_ is None:
        raise ApplicationError({"token": "补充材料链接无效、已使用或已过期"}, status=404)
    merged = {"kind": app_.kind, "uscc": app_.uscc, "name": app_.name,
              "contact_name": app_.contact_name, "contact_phone": app_.contact_phone,
              "contact_email": app_.contact_email, "intended_use": app_.intended_use}
    merged.update({k: v for k, v in (data or {}).items()
                   if k in service.LIMITS and v not in (None, "")})
    clean = service.validate(merged)
    doc_errors = qualifications.check(files or [])
    if doc_errors:
        raise ApplicationError(doc_errors)
    app_.name, app_.intended_use = clean["name"], clean["intended_use"]
    app_.contact_name, app_.contact_phone = clean["contact_name"], clean["contact_phone"]
    app_.contact_email = clean["contact_email"]
    if files:
        qualifications.add_all(application=app_, files=files)
    app_.status, app_.resubmit_token_hash, app_.resubmit_expires_at = "submitted", None, None
    audit.record("onboarding.resubmit", object_type="onboarding_application",
                 object_id=app_.id, summary={"documents": len(files or []),
                                             "changed": sorted(data or {})[:10]})
    inst = db.session.get(ProcessInstance, app_.case_id) if app_.case_id else None
    if inst is None or not deliver(instance=inst, name=RESUBMITTED,
                                   payload={"resubmitted_at": utcnow().isoformat()},
                                   user=None):
        open_case(app_, user=None)  # its case had ended or never existed: a new review
    return app_


# ---- re-activation after suspension ---------------------------------------------------------


def request_reactivation(app_: Application, *, reason: str, user: Any) -> ProcessInstance:
    """A re-activation review task for the platform administrators' inbox."""
    if app_.status != "suspended":
        raise ApplicationError({"status": "只有已暂停的机构可以恢复"}, status=409)
    if open_task(app_, "reactivation_review") is not None:
        raise ApplicationError({"status": "已有待审核的恢复申请"}, status=409)
    return open_case(app_, user=user, mode="reactivate", reason=(reason or "").strip() or None)


@hooks.on_submit(PROCESS, "reactivation_review")
def _on_reactivation(data: dict[str, Any], task_data: dict[str, Any]):
    app_ = _app_of(task_data)
    if app_.status != "suspended":
        raise Conflict("只有已暂停的机构可以恢复", code="already_decided")
    reason = (data.get("reason") or "").strip()
    if not reason:
        return {"reason": "恢复必须填写审核意见"}, {}
    if data.get("decision") == "reject":
        actor = context.current().actor
        context.after_save(lambda _id: audit.record(
            "onboarding.reactivation_refused", object_type="onboarding_application",
            object_id=app_.id, user=actor, summary={"reason": reason}))
    return {}, {"reason": reason}


@register_service("onboarding.reactivate", replace=True)
def _svc_reactivate(data: dict[str, Any]) -> dict[str, Any]:
    app_, reason = _app_of(data), data.get("reason") or ""
    context.after_save(lambda _id: _issued().__setitem__(
        "accounts", lifecycle.reactivate(app_, reason=reason)))
    return {"reactivated": True}


def reactivate(app_: Application, *, reason: str, decision: str = "approve",
               user: Any) -> int:
    """The API's and the page's re-activation: completes the open re-activation review
    (opening one first when none waits). Returns how many accounts came back."""
    from app.workflow import service as workflow

    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError({"reason": "恢复必须填写审核意见"})
    if app_.status != "suspended":
        raise ApplicationError({"status": "只有已暂停的机构可以恢复"}, status=409)
    task = open_task(app_, "reactivation_review")
    if task is None:
        request_reactivation(app_, reason=reason, user=user)
        task = open_task(app_, "reactivation_review")
    _ISSUED.set({})
    try:
        workflow.complete(task_id=task.id, user=user,
                          data={"decision": decision, "reason": reason})
    except WorkflowError as exc:
        raise as_application_error(exc) from None
    return int(take_issued().get("accounts") or 0)


@hooks.context(PROCESS)
def _context(inst: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """Beside the review task: the qualification documents, the USCC check (check
    character and registering division) and the intended use."""
    from app.onboarding import qualifications
    from app.orgs.models import Region
    from app.refdata.uscc import validate_uscc

    app_ = db.session.get(Application, int(data.get("application_id") or 0))
    if app_ is None:
        return None
    try:
        validate_uscc(app_.uscc)
        uscc_ok, uscc_error = True, None
    except ValueError as exc:
        uscc_ok, uscc_error = False, str(exc)
    region = db.session.get(Region, app_.region_code)
    return {"template": "onboarding/_case_context.html", "a": app_, "uscc_ok": uscc_ok,
            "uscc_error": uscc_error, "region_name": region.name if region else None,
            "documents": qualifications.list_for(application=app_),
            "mode": data.get("mode"), "request_reason": data.get("request_reason")}
