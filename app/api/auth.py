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
        """Issue an API token (send it back in the `Authentication-Token` header)."""
        user = accounts.get_by_email(email=args["email"])
        if user is None or user.deleted_at is not None:
            audit.record("login.failure", object_type="user", email=args["email"],
                         summary={"via": "api", "reason": "unknown"})
            accounts.db.session.commit()
            return api_error(401, "邮箱或密码错误", code="bad_credentials")
        if lockout.is_locked(user):
            return api_error(403, lockout.locked_message(user), code="locked")
        if not user.verify_and_update_password(args["password"]):
            user.track_failed_authn("password")
            if lockout.is_locked(user):
                return api_error(403, lockout.locked_message(user), code="locked")
            return api_error(401, "邮箱或密码错误", code="bad_credentials")
        if not user.active:
            return api_error(403, "账户已停用", code="disabled")
        if user.tf_primary_method:
            if not args.get("code"):
                return api_error(401, "需要双因素认证动态口令", code="code_required",
                                 fields={"code": "必填"})
            if not _verify_second_factor(user, args["code"]):
                user.track_failed_authn("password", tfa=True)
                return api_error(401, "动态口令错误", code="bad_code",
                                 fields={"code": "动态口令错误"})
        elif user.requires_two_factor():
            return api_error(403, "该角色必须先在网页端启用双因素认证", code="two_factor_required")
        if password_policy.expired(user):
            return api_error(403, "密码已过期，请先在网页端修改密码", code="password_expired")
        lockout.reset(user)
        audit.record("login.success", object_type="user", object_id=user.id, user=user,
                     summary={"via": ["api-token"]})
        return {"token": user.get_auth_token(),
                "expires_in": _seconds(current_app.config["SECURITY_TOKEN_MAX_AGE"]),
                "user": {"email": user.email, "roles": sorted(user.role_names)}}


def _seconds(value) -> int:
    return int(value.total_seconds()) if hasattr(value, "total_seconds") else int(value)


def _verify_second_factor(user, code: str) -> bool:
    security = current_app.extensions["security"]
    code = code.strip().replace(" ", "")
    if code.isdigit() and user.tf_totp_secret:
        return bool(security._totp_factory.verify_totp(
            token=code, totp_secret=user.tf_totp_secret, user=user,
            window=current_app.config.get("SECURITY_TWO_FACTOR_TOTP_WINDOW", 1)))
    from flask_security.recovery_codes import MfRecoveryCodesUtil  # noqa: F401

    util = security._mf_recovery_codes_util
    return bool(util.check_code(user, code))
