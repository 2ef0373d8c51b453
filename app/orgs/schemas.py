"""Marshmallow schemas for organisations."""

from __future__ import annotations

from marshmallow import Schema, fields


class EnterpriseSchema(Schema):
    uscc = fields.String()
    name = fields.String()
    region_code = fields.String()
    region_name = fields.Function(lambda e: e.region.name if e.region else None)
    industry_code = fields.String(allow_none=True)
    industry_name = fields.Function(lambda e: e.industry.name if e.industry else None)
    scale = fields.String(allow_none=True)
    key_emitter = fields.Boolean()


class EnterpriseQuerySchema(Schema):
    q = fields.String(load_default=None, metadata={"description": "名称或代码"})
    region = fields.String(load_default=None)
    industry = fields.String(load_default=None)
