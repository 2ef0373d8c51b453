"""`POST /api/v1/accounting/calculate`: GB/T 32150 for given activity data, nothing stored.

Each line takes its factor explicitly (`factor: {value}` or `factor: {ncv, carbon_content,
oxidation_rate}`) or from the library for `year` and `region`.
"""

from __future__ import annotations

from decimal import Decimal

from app.accounting import engine
from app.energy import service as energy


class CalcError(ValueError):
    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(fields.values()))
        self.fields = fields


def calculate(body: dict) -> dict:
    errors: dict[str, str] = {}
    year = energy.parse_int(body.get("year"), "year", errors, "年份", 2000, 2100) \
        if body.get("year") is not None else None
    region = body.get("region")
    if region is not None and not (isinstance(region, str) and len(region) == 6
                                   and region.isdigit()):
        errors["region"] = "地区应为 6 位 GB/T 2260 行政区划代码"
        region = None
    gross = energy.parse_decimal(body.get("gross_output"), "gross_output", errors,
                                  "工业总产值")
    va = energy.parse_decimal(body.get("value_added"), "value_added", errors, "工业增加值")
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        errors["lines"] = "请至少提供一行活动数据"
        raw_lines = []
    types, procs, _incomplete = energy.catalogue()
    cleaned = []
    for i, raw in enumerate(raw_lines):
        raw = dict(raw) if isinstance(raw, dict) else raw
        if isinstance(raw, dict) and isinstance(raw.get("factor"), dict):
            for k, v in raw.pop("factor").items():
                raw["factor_value" if k == "value" else k] = v
        cleaned.append(energy.validate_line(raw, f"lines.{i}", errors, types, procs))
    library_needed = any(
        c and c["factor_value"] is None and (c["ncv"] is None or c["carbon_content"] is None
                                             or c["oxidation_rate"] is None)
        and c["flow"] != "self_generated" for c in cleaned)
    if library_needed and year is None:
        errors["year"] = "未给出排放因子的行需要从因子库取值，请填写核算年份"
    if errors:
        raise CalcError(errors)
    resolved = energy.resolve(year=year or 0, region_code=region) if library_needed \
        else energy.Resolved({}, {})
    lines = []
    for c in cleaned:
        et = types.get(c["item"])
        explicit = c["factor_value"] is not None or None not in (
            c["ncv"], c["carbon_content"], c["oxidation_rate"])
        lines.append(engine.Line(
            flow=c["flow"], item=c["item"], amount=c["amount"], unit=c["unit"],
            category="process" if c["flow"] == "process" else et.category,
            factor=None if explicit else resolved.factors.get(c["item"]),
            tce_factor=et.tce_factor if et else None, ncv=c["ncv"],
            carbon_content=c["carbon_content"], oxidation_rate=c["oxidation_rate"],
            factor_value=c["factor_value"], name=et.name if et else c["item"]))
    try:
        result = engine.calculate(lines, gross_output=gross, value_added=va)
    except engine.EngineError as exc:
        raise CalcError({exc.field: exc.message}) from None
    out = result.as_dict()
    out["year"], out["region"] = year, region
    out["notes"] = list(resolved.notes.values())
    return _plain(out)


def _plain(obj):
    """Decimals as strings (exact), recursively."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj
