"""POST /api/v1/auth/token: e-mail + password (+ TOTP when enrolled) -> token."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api import api_error
from app.extensions import csrf
from app.identity import tokens
from app.uow import commit

BAD_CREDENTIALS = tokens.BAD_CREDENTIALS  # the one answer to every unproven credential

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

        Every failure before the credentials are fully proven gets one answer (401), and an
        unknown account costs the same work as a wrong password (`app.identity.tokens`).
        """
        try:
            return tokens.issue(email=args["email"], password=args["password"],
                                code=args.get("code"))
        except tokens.TokenRefused as refused:
            if refused.keep_audit:
                commit()  # the refusal's record; nothing else was written
            return api_error(refused.status, refused.message, code=refused.code,
                             fields={"code": "已启用双因素认证的账户必填"}
                             if refused.status == 401 else None)
