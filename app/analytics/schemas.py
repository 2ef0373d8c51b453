"""Query and body schemas of the analytics API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

YEAR = validate.Range(2000, 2100, error="年份应在 2000 至 2100 之间")


class ForecastQuery(Schema):
    level = fields.String(load_default="enterprise",
                          validate=validate.OneOf(["enterprise", "industry", "region"],
                                                  error="应为 enterprise、industry 或 region"),
                          metadata={"description": "enterprise | industry | region"})
    code = fields.String(required=True, validate=validate.Length(1, 20),
                         metadata={"description": "USCC、GB/T 4754 行业代码或 GB/T 2260 区划代码"})
    measure = fields.String(load_default="co2",
                            validate=validate.OneOf(["co2", "energy"], error="应为 co2 或 energy"))


class YearQuery(Schema):
    year = fields.Integer(load_default=None, validate=YEAR)


class PotentialQuery(YearQuery):
    industry = fields.String(load_default=None, validate=validate.Length(1, 5))
    top = fields.Integer(load_default=3, validate=validate.Range(1, 20))


class FlagQuery(YearQuery):
    status = fields.String(load_default="open", validate=validate.OneOf(
        ["open", "explained", "cleared"], error="应为 open、explained 或 cleared"))
    kind = fields.String(load_default=None, validate=validate.OneOf(
        ["residual", "level_shift", "fuel_ratio", "peer_intensity"], error="未知的异常类型"))


class ExplainIn(Schema):
    note = fields.String(required=True, validate=validate.Length(1, 2000))


class Measure(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(
        ["efficiency", "coal_to_gas", "green_power", "pv"], error="未知的措施类型"))
    pct = fields.Decimal(allow_none=True, as_string=True)
    share = fields.Decimal(allow_none=True, as_string=True)
    kwp = fields.Decimal(allow_none=True, as_string=True)
    hours = fields.Decimal(allow_none=True, as_string=True)


class ScenarioIn(Schema):
    year = fields.Integer(required=True, validate=YEAR)
    measures = fields.List(fields.Nested(Measure), required=True,
                           validate=validate.Length(1, 10))
    name = fields.String(load_default=None, validate=validate.Length(max=100),
                         metadata={"description": "给出名称则保存该情景"})
