"""Region monitoring (R-6.1.1): province → city → county, totals, energy mix, industries,
YoY / MoM, sub-region ranking and the share of the eight key sectors."""

from __future__ import annotations

from decimal import Decimal

from app.i18n import Msg
from app.identity.scope import DataScope
from app.monitoring import cube
from app.monitoring.datasets import Column, Dataset, pct
from app.monitoring.filters import ANY_ITEM, Filters, energy_label, sector_names, source
from app.monitoring.models import TOTAL


def _period_label(f: Filters) -> str:
    if f.grain == "year" or not f.month:
        return Msg("%(year)s年", year=f.year)
    return Msg("%(year)s年%(month)s月", year=f.year, month=f.month)


def axis(label: str, unit: str) -> Msg:
    """An axis title with its unit, e.g. "CO2 排放量（万吨 CO2）"."""
    return Msg("%(label)s（%(unit)s）", label=label, unit=unit)


def series_dataset(scope: DataScope, f: Filters, title: str = "排放趋势") -> Dataset:
    _, unit, _, label = cube.measure(f)
    rows = [list(r) for r in cube.series(scope, f)]
    x_name = "年份" if f.grain == "year" else "月份"
    cols = [Column("period", x_name, kind="text"), Column("value", label, unit),
            Column("last_year", "上年同期", unit), Column("yoy", "同比", "%"),
            Column("mom", "环比", "%")]
    if f.grain == "year":
        cols = cols[:4]
        rows = [r[:4] for r in rows]
    span = Msg("逐年") if f.grain == "year" else Msg("%(year)s年逐月", year=f.year)
    return Dataset("series", Msg("%(title)s（%(span)s）", title=title, span=span),
                   cols, rows, {"type": "line", "x": "period",
                                "series": ["value", "last_year"] if f.grain != "year"
                                else ["value"], "y_name": axis(label, unit),
                                "x_name": x_name})


def energy_dataset(scope: DataScope, f: Filters) -> Dataset:
    """Every energy item in the window (the energy filter does not apply here)."""
    model = source(scope)
    from dataclasses import replace

    g = replace(f, energy="", measure="co2" if f.measure == "amount" else f.measure)
    data = cube.grouped(scope, g, "item", extra=cube.window(model, g) + [model.item != TOTAL],
                        item=ANY_ITEM)
    rows = []
    for item, (_, co2, tce, amount, _) in data.items():
        name, unit = energy_label(item)
        rows.append([item, name, unit or "—", None if item == "process" else cube.rnd(amount, 3),
                     cube.scaled(tce, cube.WAN), cube.scaled(co2, cube.WAN)])
    rows.sort(key=lambda r: -(r[5] or 0))
    key = "co2" if g.measure == "co2" else "tce"
    return Dataset("energy", Msg("分能源品种（%(period)s）", period=_period_label(f)),
                   [Column("item", "代码", kind="text"), Column("name", "能源品种", kind="text"),
                    Column("unit", "实物单位", kind="text"), Column("amount", "实物消费量"),
                    Column("tce", "综合能耗", "万吨标准煤"),
                    Column("co2", "CO2 排放量", "万吨 CO2")],
                   rows, {"type": "bar", "x": "name", "series": [key],
                          "y_name": "CO2 排放量（万吨 CO2）" if key == "co2"
                          else "综合能耗（万吨标准煤）", "x_name": "能源品种"},
                   "实物消费量为净消费（外购 + 自发 − 外供）；"
                   "工业生产过程排放不属于能源品种，无实物量")


def ranking_dataset(scope: DataScope, f: Filters) -> Dataset:
    model = source(scope)
    _, unit, div, label = cube.measure(f)
    data = cube.grouped(scope, f, cube.child_key(f.prefix), extra=cube.window(model, f))
    names = cube.region_names(data)
    whole = sum((v[0] or 0 for v in data.values()), Decimal(0))
    rows = [[code, names.get(code, code), cube.scaled(v[0], div), pct(v[0], whole)]
            for code, v in data.items()]
    rows.sort(key=lambda r: -(r[2] or 0))
    for i, r in enumerate(rows, 1):
        r.append(i)
    drill = len(f.prefix) < 4 if f.prefix else True
    return Dataset("ranking", Msg("下级地区排名（%(period)s）", period=_period_label(f)),
                   [Column("code", "区划代码", kind="text"), Column("name", "地区", kind="text"),
                    Column("value", label, unit), Column("share", "占比", "%"),
                    Column("rank", "名次")],
                   rows, {"type": "bar", "x": "name", "series": ["value"],
                          "y_name": axis(label, unit), "x_name": "地区",
                          "drill": {"param": "region", "key": "code"} if drill else None})


def sector_dataset(scope: DataScope, f: Filters) -> Dataset:
    model = source(scope)
    _, unit, div, label = cube.measure(f)
    data = cube.grouped(scope, f, "sector", extra=cube.window(model, f), with_sector=False)
    names = sector_names()
    whole = sum((v[0] or 0 for v in data.values()), Decimal(0))
    rows = []
    for sid, name in names.items():
        v = data.get(sid, (None,))[0]
        rows.append([sid, name, cube.scaled(v, div), pct(v, whole)])
    other = sum((v[0] or 0 for k, v in data.items() if k not in names), Decimal(0))
    rows.append(["other", "其他行业", cube.scaled(other, div), pct(other, whole)])
    return Dataset("sectors", Msg("八大重点行业占比（%(period)s）", period=_period_label(f)),
                   [Column("sector", "代码", kind="text"), Column("name", "行业", kind="text"),
                    Column("value", label, unit), Column("share", "占比", "%")],
                   rows, {"type": "pie", "x": "name", "series": ["value"],
                          "y_name": axis(label, unit), "x_name": "行业"},
                   "八大行业：电力、石化、化工、建材、钢铁、有色、造纸、民航（全国碳市场覆盖行业，"
                   "对应 GB/T 4754-2017 代码见参考数据 sectors.csv）")


def industry_dataset(scope: DataScope, f: Filters, limit: int = 15) -> Dataset:
    model = source(scope)
    _, unit, div, label = cube.measure(f)
    data = cube.grouped(scope, f, "division", extra=cube.window(model, f))
    names = cube.industry_names(data)
    whole = sum((v[0] or 0 for v in data.values()), Decimal(0))
    rows = [[code or "—", names.get(code, "未登记行业"), cube.scaled(v[0], div), pct(v[0], whole)]
            for code, v in data.items()]
    rows.sort(key=lambda r: -(r[2] or 0))
    return Dataset("industries", Msg("分行业（GB/T 4754 大类，前 %(limit)s 位，%(period)s）",
                                     limit=limit, period=_period_label(f)),
                   [Column("division", "行业代码", kind="text"),
                    Column("name", "行业", kind="text"), Column("value", label, unit),
                    Column("share", "占比", "%")],
                   rows[:limit], {"type": "bar", "x": "name", "series": ["value"],
                                  "y_name": axis(label, unit), "x_name": "行业",
                                  "horizontal": True})


def region_view(scope: DataScope, f: Filters) -> dict:
    names = cube.region_names([f.region]) if f.region else {}
    return {"title": names.get(f.region, "全部地区"), "summary": cube.summary(scope, f),
            "datasets": [series_dataset(scope, f), ranking_dataset(scope, f),
                         energy_dataset(scope, f), sector_dataset(scope, f),
                         industry_dataset(scope, f)],
            "period_label": _period_label(f), "breadcrumb": breadcrumb(f.region)}


def breadcrumb(code: str) -> list[dict]:
    """Province › city › county links for the drill-down."""
    if not code:
        return []
    chain = [code[:2] + "0000"]
    if code[2:4] != "00":
        chain.append(code[:4] + "00")
    if code[4:] != "00":
        chain.append(code)
    names = cube.region_names(chain)
    return [{"code": c, "name": names.get(c, c)} for c in chain]
