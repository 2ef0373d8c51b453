"""Marshmallow schemas of the trading API (request shapes documented in OpenAPI)."""

from __future__ import annotations

from marshmallow import Schema, fields

NUM = {"type": "string", "description": "十进制数（字符串或数字）"}


class ReductionIn(Schema):
    methodology = fields.String(required=True, metadata={
        "description": "方法学代码：gbt33760、grid_renewable、energy_efficiency"})
    parameters = fields.Dict(required=True, metadata={"description": "方法学参数"})
