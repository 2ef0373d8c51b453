"""Marshmallow schemas for account APIs."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.identity.roles import ROLE_NAMES, USER_CLASSES
from app.identity.scope import KINDS


class ScopeSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))


class UserSyncSchema(Schema):
    email = fields.Email(required=True)
    display_name = fields.String(load_default=None, allow_none=True)
    user_class = fields.String(validate=validate.OneOf(USER_CLASSES))
    roles = fields.List(fields.String(validate=validate.OneOf(sorted(ROLE_NAMES))))
    scopes = fields.List(fields.Nested(ScopeSchema))
    phone = fields.String(allow_none=True)
    active = fields.Boolean()


class UserOutSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    display_name = fields.String(allow_none=True)
    user_class = fields.String()
    external_id = fields.String(allow_none=True)
    active = fields.Boolean()
    roles = fields.Method("get_roles")
    scopes = fields.Method("get_scopes")

    def get_roles(self, obj) -> list[str]:
        return sorted(obj.role_names)

    def get_scopes(self, obj) -> list[dict]:
        return [{"kind": s.kind, "code": s.code} for s in obj.scopes]
