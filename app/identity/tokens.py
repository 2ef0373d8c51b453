"""API tokens for e-mail + password (+ TOTP or recovery code): the sign-in rules of the
token endpoint, apart from its HTTP shape.

Every failure before the credentials are fully proven (unknown account, wrong password,
missing or wrong code) is one refusal, and an unknown account costs the same password hash
as a known one: nobody learns which accounts exist or that a password was right. Lock,
disabled and policy refusals come only after the password and (when enrolled) the code
were right. Nothing here commits.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app
from flask_security.utils import hash_password, verify_password

from app.audit import service as audit
from app.identity import lockout, password_policy
from app.identity import service as accounts

#: the one answer to every unproven credential
BAD_CREDENTIALS = "邮箱、密码或动态口令错误（已启用双因素认证的账户须同时提交动态口令 code）"


class TokenRefused(Exception):
    """Why no token: HTTP status, message and code; `keep_audit` when the refusal's audit
    record must be committed although the request fails (an unknown account)."""

    def __init__(self, status: int, message: str, code: str, *, keep_audit: bool = False):
        super().__init__(message)
        self.status, self.message, self.code, self.keep_audit = status, message, code, keep_audit


def _burn_hash(password: str) -> None:
    """Verify against a throw-away hash of the same kind, so that an unknown account takes
    as long as a wrong password."""
    state = current_app.extensions.setdefault("cecp_dummy_hash", {})
    if "hash" not in state:
        state["hash"] = hash_password(secrets.token_urlsafe(16))
    verify_password(password, state["hash"])


def _second_factor(user: Any, code: str) -> bool:
    security = current_app.extensions["security"]
    code = code.strip().replace(" ", "")
    if code.isdigit() and user.tf_totp_secret:
        return bool(security._totp_factory.verify_totp(
            token=code, totp_secret=user.tf_totp_secret, user=user,
            window=current_app.config.get("SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY", 120)))
    return bool(security._mf_recovery_codes_util.check_code(user, code))


def _seconds(value: Any) -> int:
    return int(value.total_seconds()) if hasattr(value, "total_seconds") else int(value)


def issue(*, email: str, password: str, code: str | None) -> dict[str, Any]:
    """A token for proven credentials, or TokenRefused."""
    bad = TokenRefused(401, BAD_CREDENTIALS, "bad_credentials")
    user = accounts.get_by_email(email=email)
    if user is None or user.deleted_at is not None:
        _burn_hash(password)
        audit.record("login.failure", object_type="user", email=email,
                     summary={"via": "api", "reason": "unknown"})
        bad.keep_audit = True
        raise bad
    if not user.verify_and_update_password(password):
        user.track_failed_authn("password")
        raise bad
    if user.tf_primary_method and (not code or not _second_factor(user, code)):
        user.track_failed_authn("password", tfa=True)
        raise bad
    if lockout.is_locked(user):
        raise TokenRefused(403, lockout.locked_message(user), "locked")
    if not user.active:
        raise TokenRefused(403, "账户已停用", "disabled")
    if not user.tf_primary_method and user.requires_two_factor():
        raise TokenRefused(403, "该角色必须先在网页端启用双因素认证", "two_factor_required")
    if password_policy.expired(user):
        raise TokenRefused(403, "密码已过期，请先在网页端修改密码", "password_expired")
    lockout.reset(user)
    audit.record("login.success", object_type="user", object_id=user.id, user=user,
                 summary={"via": ["api-token"]})
    return {"token": user.get_auth_token(),
            "expires_in": _seconds(current_app.config["SECURITY_TOKEN_MAX_AGE"]),
            "user": {"email": user.email, "roles": sorted(user.role_names)}}
