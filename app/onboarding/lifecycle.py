"""An organisation's life after it applied: review, invitation, the accepted agreement and
provisioning of its administrator, suspension and re-activation. All audited; no commits."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.identity import service as accounts
from app.identity.models import User, UserScope
from app.onboarding import agreement
from app.onboarding.models import KINDS, Application, Invitation
from app.onboarding.service import ApplicationError
from app.orgs.models import Institution

DECISIONS = {"approve": "approved", "return": "returned", "reject": "rejected"}
ORG_ADMIN_ROLE = "org_admin"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invite(app_: Application) -> str:
    """A fresh single-use link; earlier unused links of the application stop working."""
    now = utcnow()
    for old in app_.invitations:
        if old.used_at is None and old.revoked_at is None:
            old.revoked_at = now
    token = secrets.token_urlsafe(32)
    hours = int(current_app.config.get("CECP_ONBOARDING_INVITE_HOURS", 72))
    app_.invitations.append(Invitation(token_hash=_token_hash(token), created_at=now,
                                       expires_at=now + timedelta(hours=hours)))
    db.session.flush()
    audit.record("onboarding.invite", object_type="onboarding_application",
                 object_id=app_.id, summary={"expires_hours": hours})
    return token


def check_decision(app_: Application, *, decision: str, reason: str | None) -> str:
    """The refusals of a review decision (422 naming the field, 409 when already decided);
    the trimmed reason."""
    if decision not in DECISIONS:
        raise ApplicationError({"decision": "审核结论只能是批准、退回补充材料或驳回"})
    reason = (reason or "").strip()
    if decision != "approve" and not reason:
        raise ApplicationError({"reason": "退回或驳回必须填写原因"})
    if len(reason) > 2000:
        raise ApplicationError({"reason": "原因不能超过 2000 个字"})
    if app_.status != "submitted":
        raise ApplicationError({"decision": f"申请当前状态为“{app_.status_label}”，不能再审核"},
                               status=409)
    return reason


def decide(app_: Application, *, decision: str, reason: str | None) -> str | None:
    """Approve (returns the invitation token), return for more documents or reject; the
    last two need a reason the applicant sees."""
    reason = check_decision(app_, decision=decision, reason=reason)
    app_.status = DECISIONS[decision]
    app_.review_note = reason or None
    app_.reviewed_at = utcnow()
    app_.reviewed_by_id = _actor_id()
    audit.record(f"onboarding.{decision}", object_type="onboarding_application",
                 object_id=app_.id, summary={"uscc": app_.uscc, "reason": reason or None})
    return None  # the invitation is the process's next step (`flow`, service `invite`)


def invite(app_: Application) -> str:
    """The invitation step of `institution_onboarding` (after an approval)."""
    return _invite(app_)


def reissue(app_: Application) -> str:
    if app_.status != "approved":
        raise ApplicationError({"status": "只有已批准（尚未开通）或已退回的申请可以重新生成链接"},
                               status=409)
    return _invite(app_)


def _actor_id() -> int | None:
    from flask import has_request_context
    from flask_security import current_user

    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def invitation_for(token: str) -> Invitation | None:
    """The invitation behind a link if it can still be used (unused, unrevoked, unexpired)."""
    if not token or len(token) > 100:
        return None
    inv = db.session.scalar(select(Invitation).where(
        Invitation.token_hash == _token_hash(token)))
    if inv is None or inv.used_at or inv.revoked_at or inv.expires_at <= utcnow():
        return None
    if inv.application.status != "approved":
        return None
    return inv


def accept(*, token: str, password: str, accepted: bool, version: str | None,
           extra_scopes: tuple = (), check_policy: bool = True) -> User:
    """Accept the data-use agreement and set the administrator's password: the account is
    created, the exact text and time kept, and the organisation becomes active.
    (`extra_scopes`, `check_policy`: the demo's accounts only.)"""
    inv = invitation_for(token)
    if inv is None:
        raise ApplicationError({"token": "邀请链接无效、已使用或已过期"}, status=404)
    errors = {}
    if not accepted:
        errors["accept"] = "必须阅读并接受数据使用协议"
    elif version and version != agreement.VERSION:
        errors["accept"] = "协议版本已更新，请重新阅读后接受"
    if not isinstance(password, str) or not password:
        errors["password"] = "请设置密码"
    if errors:
        raise ApplicationError(errors)
    app_ = inv.application
    email = app_.contact_email
    try:
        user = accounts.create(
            email=email, password=password[:200],
            roles=[KINDS[app_.kind][1], ORG_ADMIN_ROLE],
            scopes=[("institution", app_.uscc), *extra_scopes],
            display_name=app_.contact_name, user_class="institution",
            phone=app_.contact_phone, check_policy=check_policy)
    except accounts.AccountError as exc:
        raise ApplicationError({exc.field: exc.message}) from exc
    now = utcnow()
    inv.used_at, inv.user_id = now, user.id
    app_.agreement_version, app_.agreement_text = agreement.VERSION, agreement.TEXT
    app_.agreement_accepted_at = now
    app_.admin_user_id = user.id
    audit.record("onboarding.agreement_accept", object_type="onboarding_application",
                 object_id=app_.id, user=user,
                 summary={"version": agreement.VERSION, "user_id": user.id})
    from app.onboarding import flow  # the process's waiting step goes on: `activate`

    flow.accepted(app_, user=user)
    return user


def activate(app_: Application, *, user: Any) -> None:
    """The workspace switched on (the process's last step after the acceptance)."""
    if app_.status == "active":
        return
    app_.institution_id = _institution(app_).id
    app_.status = "active"
    audit.record("onboarding.activate", object_type="onboarding_application",
                 object_id=app_.id, user=user, summary={"uscc": app_.uscc})


def _institution(app_: Application) -> Institution:
    inst = db.session.scalar(select(Institution).where(Institution.code == app_.uscc))
    if inst is None:
        inst = Institution(code=app_.uscc, name=app_.name, kind=app_.kind,
                           region_code=app_.region_code, onboarded_on=utcnow().date())
        inst.contact_phone = app_.contact_phone
        db.session.add(inst)
        db.session.flush()
    return inst


def members(app_: Application) -> list[User]:
    """Every personal account of the organisation: those whose data scope names its code
    (its machine clients' accounts are keys: `exchange_keys.list_for`)."""
    return list(db.session.scalars(
        select(User).join(UserScope, UserScope.user_id == User.id)
        .where(UserScope.kind == "institution", UserScope.code == app_.uscc,
               User.user_class != "machine")
        .order_by(User.id)))


def suspend(app_: Application, *, reason: str) -> int:
    """Every account of the organisation off at once; sessions and tokens die with the
    rotated identifier, so the next request is refused. Returns how many accounts."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError({"reason": "暂停必须填写原因"})
    if app_.status != "active":
        raise ApplicationError({"status": "只有已开通的机构可以暂停"}, status=409)
    users = members(app_)
    for user in users:
        accounts.disable(user, reason=f"机构暂停：{reason[:200]}")
        user.fs_uniquifier = uuid.uuid4().hex
    from app.onboarding.exchange_keys import revoke_all  # API keys and webhooks too

    keys = revoke_all(app_, reason=reason)
    app_.status, app_.suspended_at, app_.suspend_reason = "suspended", utcnow(), reason
    audit.record("onboarding.suspend", object_type="onboarding_application",
                 object_id=app_.id, summary={"reason": reason, "api_keys": keys,
                                             "users": [u.id for u in users]})
    return len(users)


def reactivate(app_: Application, *, reason: str) -> int:
    """Re-activation after review: the accounts the suspension switched off come back."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError({"reason": "恢复必须填写审核意见"})
    if app_.status != "suspended":
        raise ApplicationError({"status": "只有已暂停的机构可以恢复"}, status=409)
    users = [u for u in members(app_) if u.deleted_at is None]
    for user in users:
        accounts.enable(user)
    app_.status, app_.suspended_at = "active", None
    audit.record("onboarding.reactivate", object_type="onboarding_application",
                 object_id=app_.id, summary={"reason": reason,
                                             "users": [u.id for u in users]})
    return len(users)


def summary(app_: Application, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": app_.uid, "kind": app_.kind, "kind_label": app_.kind_label, "name": app_.name,
        "uscc": app_.uscc, "region_code": app_.region_code, "status": app_.status,
        "status_label": app_.status_label, "review_note": app_.review_note,
        "case_id": app_.case_id,
        "created_at": app_.created_at.isoformat() + "Z" if app_.created_at else None,
        "agreement_version": app_.agreement_version,
        "agreement_accepted_at": (app_.agreement_accepted_at.isoformat() + "Z"
                                  if app_.agreement_accepted_at else None),
    }
    if detail:
        out.update(contact_name=app_.contact_name, contact_phone=app_.contact_phone,
                   contact_email=app_.contact_email, intended_use=app_.intended_use)
    return out


def _own_org(org: Application | None) -> Application:
    if org is None or org.status != "active":
        raise ApplicationError({"organisation": "您的机构未开通或已暂停"}, status=403)
    return org


def add_member(org: Application | None, *, email: str, password: str,
               display_name: str | None) -> User:
    """The organisation administrator adds an account to its own organisation only: the
    role of its type and its institution scope, never more."""
    org = _own_org(org)
    try:
        user = accounts.create(email=email or "", password=password or "",
                               roles=[KINDS[org.kind][1]], scopes=[("institution", org.uscc)],
                               display_name=(display_name or "").strip()[:100] or None,
                               user_class="institution")
    except accounts.AccountError as exc:
        raise ApplicationError({exc.field: exc.message}) from exc
    audit.record("onboarding.member_add", object_type="onboarding_application",
                 object_id=org.id, summary={"user_id": user.id, "email": user.email})
    return user


def set_member_active(org: Application | None, *, user_id: int, active: bool) -> User:
    """Disable or re-enable one of the organisation's own accounts (404 for any other)."""
    org = _own_org(org)
    user = next((u for u in members(org) if u.id == user_id), None)
    if user is None:
        raise ApplicationError({"user": "账户不存在或不属于本机构"}, status=404)
    if user.id == org.admin_user_id and not active:
        raise ApplicationError({"user": "不能停用机构管理员本人"}, status=409)
    if active:
        accounts.enable(user)
    else:
        accounts.disable(user, reason="机构管理员停用")
        user.fs_uniquifier = uuid.uuid4().hex
    return user
