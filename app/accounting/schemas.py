"""Marshmallow schemas of the accounting API (request shapes documented in OpenAPI)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from marshmallow import INCLUDE, Schema, fields, validate

from app.energy.schemas import NUM, LineIn


class FactorGiven(Schema):
    value = fields.Raw(metadata={**NUM, "description": "tCO2 / 单位 (电力、热力、过程)"})
    ncv = fields.Raw(metadata={**NUM, "description": "低位发热量 GJ/单位"})
    carbon_content = fields.Raw(metadata={**NUM, "description": "单位热值含碳量 tC/GJ"})
    oxidation_rate = fields.Raw(metadata={**NUM, "description": "碳氧化率"})


class CalcLineIn(LineIn):
    factor = fields.Nested(FactorGiven, metadata={
        "description": "显式给定因子；省略时按 year、region 取因子库当前版本"})


class CalculateIn(Schema):
    class Meta:
        unknown = INCLUDE

    year = fields.Raw(metadata={"type": "integer", "description": "核算年份（取库因子时必填）"})
    region = fields.Raw(metadata={"type": "string",
                                  "description": "GB/T 2260 行政区划代码（选电网因子）"})
    gross_output = fields.Raw(metadata={**NUM, "description": "工业总产值（万元）"})
    value_added = fields.Raw(metadata={**NUM, "description": "工业增加值（万元）"})
    lines = fields.List(fields.Nested(CalcLineIn), metadata={"description": "活动数据"})


class LineDerivation(Schema):
    item = fields.String()
    name = fields.String()
    flow = fields.String()
    bucket = fields.String(metadata={"description": "combustion / process / electricity / "
                                                    "heat / *_exported / biomass / renewable"})
    amount = fields.String()
    unit = fields.String()
    ncv = fields.String(allow_none=True)
    carbon_content = fields.String(allow_none=True)
    oxidation_rate = fields.String(allow_none=True)
    ef = fields.String(metadata={"description": "tCO2 / 单位"})
    co2 = fields.String()
    tce = fields.String()
    factor_id = fields.Integer(allow_none=True)
    factor_code = fields.String(allow_none=True)
    factor_version = fields.Integer(allow_none=True)
    factor_source = fields.String(allow_none=True)
    parameter_origin = fields.String(metadata={"description": "library / measured / given"})
    bucket_label = fields.String()
    formula = fields.String()
    warnings = fields.List(fields.String())


class CalculateOut(Schema):
    co2_total = fields.String(metadata={"description": "tCO2（不含生物质）"})
    energy_tce = fields.String()
    by_source = fields.Dict(keys=fields.String(), values=fields.String())
    electricity_mwh = fields.String()
    intensity = fields.String(allow_none=True)
    energy_per_output = fields.String(allow_none=True)
    gross_output = fields.String(allow_none=True)
    value_added = fields.String(allow_none=True)
    year = fields.Raw(allow_none=True)
    region = fields.String(allow_none=True)
    formula = fields.String()
    notes = fields.List(fields.String())
    lines = fields.List(fields.Nested(LineDerivation))


class AccountQuery(Schema):
    year = fields.Integer(load_default=None, metadata={"description": "年份，默认今年"})
    month = fields.Integer(load_default=None,
                           validate=validate.Range(1, 12, error="月份应在 1 至 12 之间"),
                           metadata={"description": "月份；省略则为全年"})


class RestateIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=180),
                           metadata={"description": "重述原因（记入新版本与审计）"})


class IndicatorQuery(Schema):
    level = fields.String(load_default="region",
                          metadata={"description": "enterprise | industry | region"})
    code = fields.String(load_default=None, metadata={"description": "USCC、行业或地区代码"})
    period = fields.String(load_default=None,
                           metadata={"description": "2026-03 / 2026Q1 / 2026H1 / 2026"})
    series = fields.String(load_default=None, metadata={"description": "month|quarter|half"})


class BenchmarkQuery(Schema):
    period = fields.String(load_default=None)
    industry = fields.String(load_default=None)
    top = fields.Integer(load_default=3)


def plain(obj):
    """JSON-ready: Decimal as exact strings, dates ISO."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):  # naive values are UTC: say so (OpenAPI date-time)
        return (obj if obj.tzinfo else obj.replace(tzinfo=UTC)).isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    return obj
