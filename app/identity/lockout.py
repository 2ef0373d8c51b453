"""Account lockout: N failed logins within a window lock the account for that window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["CECP_LOCKOUT_WINDOW_MINUTES"])


def register_failure(user: Any, *, auth_type: str, tfa: bool) -> None:
    """Count the failure and audit it; committed at once, since the login itself fails."""
    now = utcnow()
    if user.first_failed_login_at is None or now - user.first_failed_login_at > _window():
        user.first_failed_login_at, user.failed_login_count = now, 0
    user.failed_login_count += 1
    audit.record("login.failure", object_type="user", object_id=user.id, user=user,
                 summary={"auth_type": auth_type, "second_factor": tfa,
                          "count": user.failed_login_count})
    if user.failed_login_count >= current_app.config["CECP_LOCKOUT_ATTEMPTS"] \
            and not is_locked(user):
        user.locked_until = now + _window()
        audit.record("login.lockout", object_type="user", object_id=user.id, user=user,
                     summary={"until": user.locked_until.isoformat()})
    db.session.commit()


def is_locked(user: Any) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def locked_message(user: Any) -> str:
    minutes = max(1, int((user.locked_until - utcnow()).total_seconds() // 60) + 1)
    return f"登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试或联系管理员。"


def reset(user: Any) -> None:
    user.failed_login_count, user.first_failed_login_at, user.locked_until = 0, None, None


def resetting() -> bool:
    """True while the owner asks for or completes a password reset by e-mail: a lock must not
    stop that (proving the mailbox is how the owner gets out of a lock others caused)."""
    from flask import has_request_context, request

    return has_request_context() and request.endpoint in (
        "security.forgot_password", "security.reset_password")
