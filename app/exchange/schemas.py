"""Marshmallow schemas for the exchange API (bodies are checked by the services, which
name every bad field in Chinese; these document the shapes)."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields

from app.schema_fields import UtcDateTime

STR = {"type": "string"}


class MeterIn(Schema):
    class Meta:
        unknown = INCLUDE

    enterprise = fields.Raw(metadata={**STR, "description": "企业统一社会信用代码"})
    external_id = fields.Raw(metadata={**STR, "description": "计量表编号（全平台唯一）"})
    name = fields.Raw(metadata=STR)
    energy_type = fields.Raw(metadata={**STR, "description": "能源品种代码，如 electricity"})
    unit = fields.Raw(metadata={**STR, "description": "读数单位，如 kWh"})
    multiplier = fields.Raw(metadata={"type": "number", "description": "倍率（CT/PT 变比）"})
    source_system = fields.Raw(metadata=STR)
    installed_at = fields.Raw(metadata={**STR, "description": "启用时间，ISO 8601 带时区"})


class MeterOut(Schema):
    id = fields.Integer()
    external_id = fields.String()
    name = fields.String(allow_none=True)
    enterprise = fields.Function(lambda m: m.enterprise.uscc)
    enterprise_name = fields.Function(lambda m: m.enterprise.name)
    energy_type = fields.String()
    unit = fields.String()
    multiplier = fields.Decimal(as_string=True)
    source_system = fields.String(allow_none=True)
    installed_at = UtcDateTime(allow_none=True)


class MeterQuery(Schema):
    enterprise = fields.String(load_default=None)


class ReadingsQuery(Schema):
    meter = fields.String(required=True, error_messages={"required": "请指定计量表编号"})
    from_ = fields.String(data_key="from", load_default=None)
    to = fields.String(load_default=None)
    resolution = fields.String(load_default="raw")


class BatchOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    source = fields.String()
    client = fields.String(allow_none=True)
    received_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    status = fields.String()
    status_label = fields.String()
    mode = fields.String()
    idempotency_key = fields.String(allow_none=True)
    row_count = fields.Integer()
    accepted = fields.Integer()
    inserted = fields.Integer()
    corrected = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    progress = fields.Integer()
    message = fields.String(allow_none=True)
