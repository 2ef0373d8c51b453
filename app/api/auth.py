"""POST /api/v1/auth/token: e-mail + password (+ TOTP when enrolled) -> token."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api import api_error
from app.extensions import csrf
from app.identity import service as accounts
from app.uow import commit

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
        try:
            return accounts.issue_token(email=args["email"], password=args["password"],
                                        code=args.get("code"))
        except accounts.TokenRefused as exc:
            if exc.keep:  # its audit record stays although the answer is an error
                commit()
            return api_error(exc.status, exc.message, code=exc.code,
                             fields={exc.field: exc.message} if exc.field else None)
