"""Account APIs: who am I, and the idempotent directory sync (PUT /api/v1/users/{id})."""

from __future__ import annotations

from flask.views import MethodView
from flask_security import auth_required, current_user, permissions_required
from flask_smorest import Blueprint

from app.api import api_error
from app.extensions import db
from app.identity import service as accounts
from app.identity.schemas import UserOutSchema, UserSyncSchema
from app.uow import commit

blp = Blueprint("identity_api", __name__, url_prefix="/api/v1", description="用户 Users")


@blp.route("/me")
@auth_required("token", "session")
@blp.response(200, UserOutSchema)
def me():
    """The caller's account, roles and data scope."""
    return current_user


@blp.route("/users/<string:external_id>")
class UserSync(MethodView):
    decorators = [permissions_required("users.manage"), auth_required("token", "session")]

    @blp.arguments(UserSyncSchema)
    @blp.response(200, UserOutSchema)
    @blp.alt_response(201, schema=UserOutSchema, description="账户已新建")
    def put(self, data, external_id):
        """Create or update the account an external directory knows as `external_id`."""
        try:
            user, created = accounts.sync_external(external_id, data)
        except accounts.AccountError as exc:
            db.session.rollback()
            accounts.record_refusal(action="user.sync", user=None, field=exc.field,
                                    message=exc.message,
                                    request={"external_id": external_id,
                                             "scopes": data.get("scopes")})
            commit()
            return api_error(422, exc.message, fields={exc.field: exc.message})
        return user, 201 if created else 200
