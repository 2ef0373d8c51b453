"""Industry monitoring (R-6.1.2): GB/T 4754 divisions and the eight key sectors, carbon
intensity and its trend, and how the carbon efficiency codes of each industry are graded."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.i18n import Msg
from app.identity.scope import DataScope, scope_clause
from app.monitoring import cube
from app.monitoring.datasets import Column, Dataset, pct, rnd
from app.monitoring.filters import Filters, sector_names, source, where
from app.monitoring.models import TOTAL
from app.monitoring.region import _period_label, series_dataset
from app.orgs.models import Enterprise

DEFAULT_SCHEME = "zj_carbon_efficiency_k"


def _ratio(num, den, places: int = 4):
    if num is None or not den:
        return None
    return rnd(Decimal(num) / Decimal(den), places)


def division_dataset(scope: DataScope, f: Filters, limit: int = 30) -> Dataset:
    """Per division: CO2, energy, value added and the two intensities (weighted)."""
    model = source(scope)
    g = replace(f, energy="", measure="co2")
    data = cube.grouped(scope, g, "division", extra=cube.window(model, f))
    va = dict(db.session.execute(select(model.division, func.sum(model.value_added)).where(
        *where(model, scope, g, item=TOTAL), *cube.window(model, f))
        .group_by(model.division)).all())
    names = cube.industry_names(data)
    whole = sum((v[1] or 0 for v in data.values()), Decimal(0))
    rows = []
    for code, (_, co2, tce, _, ents) in data.items():
        rows.append([code or "—", names.get(code, "未登记行业"), cube.scaled(co2, cube.WAN),
                     cube.scaled(tce, cube.WAN), pct(co2, whole), _ratio(co2, va.get(code)),
                     _ratio(tce, va.get(code)), ents])
    rows.sort(key=lambda r: -(r[2] or 0))
    ents_label = "企业数" if f.grain != "year" else "企业·月数"
    return Dataset("divisions", Msg("分行业大类（GB/T 4754-2017，%(period)s）",
                                    period=_period_label(f)),
                   [Column("division", "行业代码", kind="text"),
                    Column("name", "行业", kind="text"), Column("co2", "CO2 排放量", "万吨 CO2"),
                    Column("tce", "综合能耗", "万吨标准煤"),
                    Column("share", "排放占比", "%"),
                    Column("intensity", "碳排放强度", "吨 CO2/万元增加值"),
                    Column("energy_intensity", "能耗强度", "吨标准煤/万元增加值"),
                    Column("enterprises", ents_label)],
                   rows[:limit], {"type": "bar", "x": "name", "series": ["intensity"],
                                  "y_name": "碳排放强度（吨 CO2/万元）", "x_name": "行业",
                                  "horizontal": True},
                   "强度 = 行业排放总量 ÷ 行业增加值总量（加权平均），只计有增加值数据的企业月份")


def sector_dataset(scope: DataScope, f: Filters) -> Dataset:
    model = source(scope)
    g = replace(f, energy="", measure="co2", sector="")
    data = cube.grouped(scope, g, "sector", extra=cube.window(model, f), with_sector=False)
    va = dict(db.session.execute(select(model.sector, func.sum(model.value_added)).where(
        *where(model, scope, g, item=TOTAL, with_sector=False), *cube.window(model, f))
        .group_by(model.sector)).all())
    rows = []
    for sid, name in sector_names().items():
        _, co2, tce, _, _ = data.get(sid, (None, None, None, None, None))
        rows.append([sid, name, cube.scaled(co2, cube.WAN), cube.scaled(tce, cube.WAN),
                     _ratio(co2, va.get(sid))])
    return Dataset("key_sectors", Msg("八大重点行业（%(period)s）", period=_period_label(f)),
                   [Column("sector", "代码", kind="text"), Column("name", "行业", kind="text"),
                    Column("co2", "CO2 排放量", "万吨 CO2"),
                    Column("tce", "综合能耗", "万吨标准煤"),
                    Column("intensity", "碳排放强度", "吨 CO2/万元增加值")],
                   rows, {"type": "bar", "x": "name", "series": ["co2"],
                          "y_name": "CO2 排放量（万吨 CO2）", "x_name": "行业"})


def intensity_dataset(scope: DataScope, f: Filters) -> Dataset:
    """Weighted intensity per month of the year (or per year) in the filtered industries."""
    model = source(scope)
    g = replace(f, energy="")
    key = "year" if f.grain == "year" else "period"
    extra = [] if f.grain == "year" else [model.year == f.year]
    rows_db = db.session.execute(select(getattr(model, key), func.sum(model.co2),
                                        func.sum(model.value_added), func.sum(model.tce))
                                 .where(*where(model, scope, g, item=TOTAL), *extra)
                                 .group_by(getattr(model, key))).all()
    data = {r[0]: r[1:] for r in rows_db}
    keys = sorted(data) if f.grain == "year" else [f.year * 100 + m for m in range(1, 13)]
    rows = []
    for k in keys:
        co2, va, tce = data.get(k, (None, None, None))
        label = str(k) if f.grain == "year" else f"{k // 100}-{k % 100:02d}"
        rows.append([label, _ratio(co2, va), _ratio(tce, va)])
    x_name = "年份" if f.grain == "year" else "月份"
    return Dataset("intensity", "强度趋势",
                   [Column("period", x_name, kind="text"),
                    Column("intensity", "碳排放强度", "吨 CO2/万元增加值"),
                    Column("energy_intensity", "能耗强度", "吨标准煤/万元增加值")],
                   rows, {"type": "line", "x": "period", "series": ["intensity",
                                                                    "energy_intensity"],
                          "y_name": "强度（吨/万元增加值）", "x_name": x_name})


def grade_dataset(scope: DataScope, f: Filters, scheme_id: str = DEFAULT_SCHEME) -> Dataset:
    """Number of enterprises per grade of the carbon efficiency code, per division."""
    from app.accounting.models import CarbonCode
    from app.refdata import load_grading_schemes

    scheme = next((s for s in load_grading_schemes() if s.id == scheme_id), None)
    grades = [(t.grade, t.label) for t in scheme.thresholds] if scheme else []
    key = str(f.year) if f.grain == "year" or not f.month else f"{f.year}-{f.month:02d}"
    ents = select(Enterprise.id)
    if not scope.all:
        ents = ents.where(scope_clause(Enterprise, scope))
    if f.prefix:
        ents = ents.where(Enterprise.region_code.startswith(f.prefix, autoescape=True))
    div = func.substr(CarbonCode.industry_code, 1, 2)
    stmt = (select(div, CarbonCode.graded, CarbonCode.grade, func.count())
            .where(CarbonCode.is_current.is_(True), CarbonCode.period_key == key,
                   CarbonCode.scheme_id == scheme_id, CarbonCode.enterprise_id.in_(ents))
            .group_by(div, CarbonCode.graded, CarbonCode.grade))
    if f.industry:
        stmt = stmt.where(div == f.industry)
    counts: dict[str, dict] = {}
    for d, graded, grade, n in db.session.execute(stmt):
        counts.setdefault(d or "", {})[grade if graded else "none"] = n
    names = cube.industry_names(counts)
    rows = []
    for d in sorted(counts):
        c = counts[d]
        rows.append([d or "—", names.get(d, "未登记行业")] + [c.get(g, 0) for g, _ in grades]
                    + [c.get("none", 0), sum(c.values())])
    cols = ([Column("division", "行业代码", kind="text"), Column("name", "行业", kind="text")]
            + [Column(f"g{g}", label, "家") for g, label in grades]
            + [Column("ungraded", "未评级", "家"), Column("total", "合计", "家")])
    colours = [t.colour for t in scheme.thresholds] if scheme else []
    return Dataset("grades", Msg("碳效码等级分布（%(scheme)s，%(period)s）",
                       scheme=scheme.name if scheme else scheme_id, period=key),
                   cols, rows, {"type": "stack", "x": "name",
                                "series": [f"g{g}" for g, _ in grades] + ["ungraded"],
                                "colors": colours + ["#999999"], "y_name": "企业数（家）",
                                "x_name": "行业"},
                   "按各企业当期有效碳效码统计；可比企业不足或缺少增加值的企业为“未评级”")


def industry_view(scope: DataScope, f: Filters) -> dict:
    datasets = [series_dataset(scope, f, "行业排放趋势"), intensity_dataset(scope, f),
                division_dataset(scope, f), grade_dataset(scope, f), sector_dataset(scope, f)]
    return {"title": "行业监测", "summary": cube.summary(scope, f), "datasets": datasets,
            "period_label": _period_label(f)}
