"""Marshmallow schemas of the monitoring API (query arguments and the common result)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class MonitoringQuerySchema(Schema):
    region = fields.String(load_default=None, metadata={"description": "行政区划代码 GB/T 2260"})
    year = fields.Integer(load_default=None)
    month = fields.Integer(load_default=None, validate=validate.Range(1, 12))
    grain = fields.String(load_default=None, validate=validate.OneOf(["month", "year"]))
    energy = fields.String(load_default=None, metadata={"description": "能源品种代码或 process"})
    measure = fields.String(load_default=None,
                            validate=validate.OneOf(["co2", "tce", "amount"]))
    sector = fields.String(load_default=None, metadata={"description": "八大行业代码"})
    industry = fields.String(load_default=None, metadata={"description": "GB/T 4754 大类"})
    q = fields.String(load_default=None)
    sort = fields.String(load_default=None)
    order = fields.String(load_default=None, validate=validate.OneOf(["asc", "desc"]))
    page = fields.Integer(load_default=None, validate=validate.Range(min=1))


class InstitutionQuerySchema(Schema):
    year = fields.Integer(load_default=None)


class CountryQuerySchema(Schema):
    countries = fields.String(load_default=None,
                              metadata={"description": "ISO 3166 alpha-3，逗号分隔，如 CHN,USA"})
    from_ = fields.Integer(data_key="from", load_default=None)
    to = fields.Integer(load_default=None)


class ResultSchema(Schema):
    title = fields.String()
    filters = fields.Dict()
    freshness = fields.Dict()
    summary = fields.Dict(allow_none=True)
    datasets = fields.List(fields.Dict())
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()
    period_label = fields.String()
    breadcrumb = fields.List(fields.Dict())
    year = fields.Integer(allow_none=True)
    years = fields.List(fields.Integer())
    institutions = fields.Integer()
    countries = fields.List(fields.Dict())
    from_ = fields.Integer(data_key="from", attribute="from", allow_none=True)
    to = fields.Integer(allow_none=True)
    bounds = fields.List(fields.Integer(allow_none=True))
    source = fields.String()
    unit = fields.String()
    series = fields.Dict()
