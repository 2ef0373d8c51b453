"""Marshmallow schemas for energy data. Request bodies are documented here but checked by
`records.validate` (field-level Chinese messages), so their fields accept raw values."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields

from app.schema_fields import UtcDateTime

NUM = {"type": "number"}
REQ = {"required": "此项为必填项"}


class LineIn(Schema):
    class Meta:
        unknown = INCLUDE

    flow = fields.Raw(metadata={
        "type": "string", "enum": ["consumed", "purchased", "exported", "self_generated",
                                   "process"],
        "description": "消耗 (燃料) / 外购 / 外供 (电、热) / 自发可再生电力 / 工业过程"})
    item = fields.Raw(metadata={
        "type": "string", "description": "能源品种代码 (如 natural_gas, electricity) 或过程"
                                         "因子代码 (如 process_caco3)，通用过程填 generic"})
    amount = fields.Raw(metadata={**NUM, "description": "实物量，非负"})
    unit = fields.Raw(metadata={"type": "string",
                                               "description": "计量单位，须与品种一致或可换算"})
    ncv = fields.Raw(metadata={**NUM, "description": "实测低位发热量 GJ/单位（可选）"})
    carbon_content = fields.Raw(metadata={**NUM, "description": "实测单位热值含碳量 tC/GJ"})
    oxidation_rate = fields.Raw(metadata={**NUM, "description": "实测碳氧化率 (0-1]"})
    factor_value = fields.Raw(metadata={**NUM, "description": "给定排放因子 tCO2/单位"})
    note = fields.Raw(metadata={"type": "string"})


class RecordIn(Schema):
    class Meta:
        unknown = INCLUDE

    uscc = fields.Raw(metadata={"type": "string",
                                               "description": "统一社会信用代码"})
    year = fields.Raw(metadata={"type": "integer"})
    month = fields.Raw(metadata={"type": "integer"})
    gross_output = fields.Raw(metadata={**NUM, "description": "工业总产值（万元）"})
    value_added = fields.Raw(metadata={**NUM, "description": "工业增加值（万元）"})
    note = fields.Raw(metadata={"type": "string"})
    lines = fields.List(fields.Nested(LineIn))


class RecordsIn(Schema):
    class Meta:
        unknown = INCLUDE

    records = fields.List(fields.Nested(RecordIn), required=True, error_messages=REQ,
                          metadata={"description": "整批校验，任一条有误则全部不写入"})


class LineOut(Schema):
    flow = fields.String()
    item = fields.String()
    amount = fields.Decimal(as_string=True)
    unit = fields.String()
    ncv = fields.Decimal(as_string=True, allow_none=True)
    carbon_content = fields.Decimal(as_string=True, allow_none=True)
    oxidation_rate = fields.Decimal(as_string=True, allow_none=True)
    factor_value = fields.Decimal(as_string=True, allow_none=True)
    note = fields.String(allow_none=True)


class RecordOut(Schema):
    id = fields.Integer()
    uscc = fields.Function(lambda r: r.enterprise.uscc)
    enterprise_name = fields.Function(lambda r: r.enterprise.name)
    year = fields.Integer()
    month = fields.Integer()
    gross_output = fields.Decimal(as_string=True, allow_none=True)
    value_added = fields.Decimal(as_string=True, allow_none=True)
    source = fields.String()
    revision = fields.Integer()
    lines = fields.List(fields.Nested(LineOut))


class RecordQuery(Schema):
    uscc = fields.String(load_default=None)
    year = fields.Integer(load_default=None)


class EnergyTypeOut(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    category = fields.String()
    unit = fields.String()
    tce_factor = fields.Decimal(as_string=True, allow_none=True)
    tce_source = fields.String(allow_none=True)


class FactorOut(Schema):
    id = fields.Integer()
    code = fields.String()
    version = fields.Integer()
    kind = fields.String()
    energy_code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    scope = fields.String()
    year = fields.Integer(allow_none=True)
    value = fields.Decimal(as_string=True, allow_none=True)
    unit = fields.String()
    ncv = fields.Decimal(as_string=True, allow_none=True)
    carbon_content = fields.Decimal(as_string=True, allow_none=True)
    oxidation_rate = fields.Decimal(as_string=True, allow_none=True)
    source = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    status = fields.String()
    supersedes_id = fields.Integer(allow_none=True)
    created_at = UtcDateTime()


class FactorQuery(Schema):
    kind = fields.String(load_default=None)
    q = fields.String(load_default=None)
    status = fields.String(load_default="active")


class SupersedeIn(Schema):
    class Meta:
        unknown = INCLUDE

    value = fields.Raw(metadata={**NUM, "description": "新数值（电力、热力、过程因子）"})
    ncv = fields.Raw(metadata=NUM)
    carbon_content = fields.Raw(metadata=NUM)
    oxidation_rate = fields.Raw(metadata=NUM)
    source = fields.Raw(required=True, error_messages=REQ,
                        metadata={"type": "string", "description": "来源文件"})
    reason = fields.Raw(required=True, error_messages=REQ,
                        metadata={"type": "string", "description": "修订原因"})
    valid_from = fields.Raw(metadata={"type": "string", "format": "date", "description":
                                      "新版本生效日期（含）；之前的月份仍用旧版本。省略则沿用旧版本的"})
    valid_to = fields.Raw(metadata={"type": "string", "format": "date",
                                    "description": "新版本失效日期（含）；省略则沿用旧版本的"})
