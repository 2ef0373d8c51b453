"""POST /api/v1/auth/token: e-mail + password (+ TOTP when enrolled) -> token."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api import api_error
from app.audit import service as audit
from app.extensions import csrf
from app.identity import lockout, password_policy
from app.identity import service as accounts

blp = Blueprint("auth_api", __name__, url_prefix="/api/v1/auth",
                description="认证 Authentication")


class TokenRequest(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True)
    code = fields.String(load_default=None, metadata={"description": "TOTP 动态口令或恢复码"})


class TokenResponse(Schema):
    token = fields.String()
    expires_in = fields.Integer()
    user = fields.Dict()


@blp.route("/token")
class Token(MethodView):
    decorators = [csrf.exempt]

    @blp.arguments(TokenRequest)
    @blp.response(200, TokenResponse)
    def post(self, args):
        """Issue an API token (send it back in the `Authentication-Token` header).

        Every failure before the credentials are fully proven (unknown account, wrong
        password, missing or wrong code) gets one answer, and an unknown account costs the
        same password hash as a known one: the endpoint tells nobody which accounts exist
        or that a password was right. Lock, disabled and policy answers come only after the
        password and (when enrolled) the code were right.
        """
        user = accounts.get_by_email(email=args["email"])
        if user is None or user.deleted_at is not None:
            _burn_hash(args["password"])
            audit.record("login.failure", object_type="user", email=args["email"],
                         summary={"via": "api", "reason": "unknown"})
            accounts.db.session.commit()
            return _bad_credentials()
        if not user.verify_and_update_password(args["password"]):
            user.track_failed_authn("password")
            return _bad_credentials()
        if user.tf_primary_method:
            if not args.get("code") or not _verify_second_factor(user, args["code"]):
                user.track_failed_authn("password", tfa=True)
                return _bad_credentials()
        if lockout.is_locked(user):
            return api_error(403, lockout.locked_message(user), code="locked")
        if not user.active:
            return api_error(403, "账户已停用", code="disabled")
        if not user.tf_primary_method and user.requires_two_factor():
            return api_error(403, "该角色必须先在网页端启用双因素认证", code="two_factor_required")
        if password_policy.expired(user):
            return api_error(403, "密码已过期，请先在网页端修改密码", code="password_expired")
        lockout.reset(user)
        audit.record("login.success", object_type="user", object_id=user.id, user=user,
                     summary={"via": ["api-token"]})
        return {"token": user.get_auth_token(),
                "expires_in": _seconds(current_app.config["SECURITY_TOKEN_MAX_AGE"]),
                "user": {"email": user.email, "roles": sorted(user.role_names)}}


#: the one answer to every unproven credential
BAD_CREDENTIALS = "邮箱、密码或动态口令错误（已启用双因素认证的账户须同时提交动态口令 code）"


def _bad_credentials():
    return api_error(401, BAD_CREDENTIALS, code="bad_credentials",
                     fields={"code": "已启用双因素认证的账户必填"})


def _burn_hash(password: str) -> None:
    """Verify against a throw-away hash of the same kind, so that an unknown account takes
    as long as a wrong password."""
    from flask_security.utils import hash_password, verify_password

    state = current_app.extensions.setdefault("cecp_dummy_hash", {})
    if "hash" not in state:
        import secrets

        state["hash"] = hash_password(secrets.token_urlsafe(16))
    verify_password(password, state["hash"])


def _seconds(value) -> int:
    return int(value.total_seconds()) if hasattr(value, "total_seconds") else int(value)


def _verify_second_factor(user, code: str) -> bool:
    security = current_app.extensions["security"]
    code = code.strip().replace(" ", "")
    if code.isdigit() and user.tf_totp_secret:
        return bool(security._totp_factory.verify_totp(
            token=code, totp_secret=user.tf_totp_secret, user=user,
            window=current_app.config.get("SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY", 120)))
    from flask_security.recovery_codes import MfRecoveryCodesUtil  # noqa: F401

    util = security._mf_recovery_codes_util
    return bool(util.check_code(user, code))
