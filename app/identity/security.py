"""Flask-Security wiring: datastore, policy hooks, and the audit of every identity event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_login import user_logged_out
from flask_security import (
    Security,
    SQLAlchemyUserDatastore,
    current_user,
    logout_user,
    password_changed,
    password_reset,
    tf_code_confirmed,
    tf_profile_changed,
    user_authenticated,
)

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.identity import (
    grants,  # noqa: F401 - registers the authorization-stamp listener
    lockout,
    password_policy,
    ratelimit,
    sessions,
)
from app.identity.mail import SmtpMailUtil
from app.identity.models import Role, User, WebAuthn
from app.identity.totp import OnceTotp

security = Security(password_util_cls=password_policy.CecpPasswordUtil, totp_cls=OnceTotp,
                    mail_util_cls=SmtpMailUtil)
user_datastore = SQLAlchemyUserDatastore(db, User, Role, WebAuthn)

# Endpoints a user may reach while forced to change a password or enrol TOTP.
_ALWAYS_ALLOWED = {
    "static", "security.logout", "security.change_password", "security.two_factor_setup",
    "security.two_factor_token_validation", "security.mf_recovery_codes",
    "security.two_factor_rescue", "security.mf_recovery", "security.login",
    "security.verify", "web.set_language", "platform_api.get_health", "platform_api.get_metrics",
}


def _unauthn(mechanisms=None, headers=None):
    from flask_security.decorators import default_unauthn_handler

    if request.path.startswith("/api/"):
        from app.api import api_error

        return api_error(401, "需要登录或有效的令牌 (Authentication-Token)",
                         code="unauthenticated")
    return default_unauthn_handler(mechanisms, headers)


def _unauthz(func_name, params):
    from flask import abort

    if request.path.startswith("/api/"):
        from app.api import api_error

        return api_error(403, "没有权限执行此操作" + (f"（需要 {', '.join(params)}）"
                                                 if params else ""), code="forbidden")
    abort(403)


def _render_json(payload, code, headers, user):
    """Flask-Security's own JSON errors under /api/ follow the platform's error shape."""
    from flask_security.views import default_render_json

    if code >= 400 and request.path.startswith("/api/"):
        from app.api import api_error

        errors = payload.get("errors") or (payload.get("response") or {}).get("errors") or []
        if isinstance(errors, str):
            errors = [errors]
        text = "；".join(str(e) for e in errors)
        if "CSRF" in text:
            from app.api.setup import CSRF_MESSAGE
            from app.audit import refusals

            refusals.mark("csrf.refused")

            return api_error(400, CSRF_MESSAGE, code="csrf")
        return api_error(code, text or None, code=str(code))
    return default_render_json(payload, code, headers, user)


def init_security(app: Flask) -> None:
    sessions.init_app(app)
    ratelimit.init_app(app)
    security.init_app(app, user_datastore)
    security.unauthn_handler(_unauthn)
    security.unauthz_handler(_unauthz)
    security.render_json(_render_json)
    user_authenticated.connect(_on_login, app)
    user_logged_out.connect(_on_logout, app)
    password_changed.connect(_on_password_changed, app)
    password_reset.connect(_on_password_reset, app)
    tf_profile_changed.connect(_on_tf_changed, app)
    tf_code_confirmed.connect(_on_tf_code_confirmed, app)
    app.before_request(_enforce_session_policy)
    app.before_request(_logout_needs_csrf)


def _on_login(sender: Any, user: User, authn_via: list[str] | None = None, **_: Any) -> None:
    lockout.reset(user)
    sessions.on_login(user)
    session["cecp_last_seen"] = utcnow().isoformat()
    audit.record("login.success", object_type="user", object_id=user.id, user=user,
                 summary={"via": authn_via or []})


def _on_logout(sender: Any, user: User, **_: Any) -> None:
    sessions.on_logout()
    if user is not None and getattr(user, "id", None):
        audit.record("logout", object_type="user", object_id=user.id, user=user)
        db.session.commit()


def _on_password_changed(sender: Any, user: User, **_: Any) -> None:
    password_policy.remember(user)
    audit.record("password.change", object_type="user", object_id=user.id, user=user)


def _on_password_reset(sender: Any, user: User, **_: Any) -> None:
    """The owner proved the mailbox: the lock lifts (a lock others caused by guessing is no
    lasting denial of service) and every session of the old password ends."""
    was_locked = lockout.is_locked(user)
    lockout.reset(user)
    password_policy.remember(user)
    ended = sessions.end_all(user_id=user.id)
    audit.record("password.reset", object_type="user", object_id=user.id, user=user,
                 summary={"was_locked": was_locked, "sessions_ended": ended})


def _on_tf_code_confirmed(sender: Any, user: User, method: str | None = None, **_: Any) -> None:
    """A code confirmed while enrolling at login: the next page offers the recovery codes."""
    if session.get("tf_state") == "validating_profile" and not user.mf_recovery_codes:
        session["cecp_offer_recovery"] = True


def _on_tf_changed(sender: Any, user: User, method: str | None = None, **_: Any) -> None:
    audit.record("two_factor.change", object_type="user", object_id=user.id, user=user,
                 summary={"method": method})


def _logout_needs_csrf():
    """Logout is a POST carrying the CSRF token; without it (a cross-site form) the user
    gets a confirmation page instead of being signed out. (Flask-Security's own
    SECURITY_LOGOUT_CSRF breaks when CSRF is switched off, as in tests.)"""
    if request.endpoint != "security.logout" or request.method != "POST" \
            or not current_app.config.get("WTF_CSRF_ENABLED", True) \
            or not current_user.is_authenticated or request.is_json:
        return None
    from flask import render_template
    from flask_wtf.csrf import ValidationError, validate_csrf

    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        from app.audit import refusals

        refusals.mark("csrf.refused")
        return render_template("security/logout_confirm.html")
    return None


def _end_session(action: str, message: str):
    """Log out (the stored session is deleted), audit why, and send the user to login."""
    audit.record(action, object_type="user", object_id=current_user.id)
    logout_user()
    db.session.commit()
    if _wants_json():
        return jsonify(error={"code": "session_expired", "message": message}), 401
    flash(message, "warning")
    return redirect(url_for("security.login", next=request.path))


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.is_json


def _enforce_session_policy():
    """Idle timeout, password expiry and mandatory TOTP enrolment for browser sessions."""
    if not current_user.is_authenticated or g.get("cecp_token_auth"):
        return None
    if request.headers.get(current_app.config["SECURITY_TOKEN_AUTHENTICATION_HEADER"]):
        return None
    now = utcnow()
    idle = timedelta(minutes=current_app.config["CECP_IDLE_TIMEOUT_MINUTES"])
    last = session.get("cecp_last_seen")
    started = sessions.started_at()
    if started is None:  # a session from before server-side sessions: its lifetime starts now
        session["cecp_started"] = now.isoformat()
    elif now - started > sessions.absolute_lifetime():
        return _end_session("session.max_age", "会话已达到最长时限，请重新登录。")
    if last:
        from datetime import datetime

        if now - datetime.fromisoformat(last) > idle:
            return _end_session("session.timeout", "会话因长时间未操作已超时，请重新登录。")
    session["cecp_last_seen"] = now.isoformat()
    sessions.touch()
    if request.endpoint in _ALWAYS_ALLOWED:
        return None
    if password_policy.expired(current_user):
        if _wants_json():
            return jsonify(error={"code": "password_expired",
                                  "message": "密码已过期，请先修改密码"}), 403
        flash("您的密码已过期，请先修改密码。", "warning")
        return redirect(url_for("security.change_password"))
    if current_user.requires_two_factor() and not current_user.tf_primary_method:
        if _wants_json():
            return jsonify(error={"code": "two_factor_required",
                                  "message": "该角色必须先启用双因素认证"}), 403
        flash("您的角色要求启用双因素认证（TOTP），请先完成绑定。", "warning")
        return redirect(url_for("security.two_factor_setup"))
    if session.pop("cecp_offer_recovery", False) and not _wants_json():
        return redirect(url_for("security.mf_recovery_codes"))
    return None
