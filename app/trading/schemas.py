"""Marshmallow schemas of the trading API (request shapes documented in OpenAPI)."""

from __future__ import annotations

from marshmallow import Schema, fields

NUM = {"type": "string", "description": "十进制数（字符串或数字）"}


class ReductionIn(Schema):
    methodology = fields.String(required=True, metadata={
        "description": "方法学代码：gbt33760、grid_renewable、energy_efficiency"})
    parameters = fields.Dict(required=True, metadata={"description": "方法学参数"})


class ProjectIn(Schema):
    code = fields.String(metadata={"description": "项目编号（省略时自动生成）"})
    name = fields.String(required=True)
    type = fields.String(required=True, metadata={
        "description": "photovoltaic、wind、hydro、biomass、efficiency、fuel_switch"})
    enterprise = fields.String(required=True, metadata={"description": "业主企业 USCC"})
    region = fields.String(metadata={"description": "GB/T 2260 行政区划代码（默认业主所在地）"})
    location = fields.String()
    capacity_mw = fields.Raw(metadata={**NUM, "description": "装机容量 MW"})
    commissioned_on = fields.String(metadata={"format": "date"})
    grid_connected_on = fields.String(metadata={"format": "date"})
    generation_meter = fields.String()
    ongrid_meter = fields.String()
    own_use_meter = fields.String()
    methodology = fields.String(required=True)
    crediting_start = fields.String(metadata={"format": "date"})
    crediting_end = fields.String(metadata={"format": "date"})
    status = fields.String()


class IssueIn(Schema):
    project = fields.String(required=True, metadata={"description": "项目编号"})
    vintage = fields.Integer(required=True, metadata={"description": "减排量所属年度"})
    quantity = fields.Integer(required=True, strict=True, metadata={"description": "tCO2e"})
    reference = fields.String(metadata={"description": "核证依据（证书编号 / 监测期）"})


class MoveIn(Schema):
    lot = fields.Integer(metadata={"description": "批次 id（给出 serial 时可省略）"})
    serial = fields.String(metadata={"description": "起始序列号（给出时按序列号精确转出）"})
    from_account = fields.String(required=True, metadata={"description": "转出账户编号"})
    to_account = fields.String(metadata={"description": "转入账户编号（转让时必填）"})
    quantity = fields.Integer(required=True, strict=True, metadata={"description": "tCO2e"})
    reason = fields.String(metadata={"description": "注销（抵销）原因（注销时必填）"})
