"""Aggregations over the monthly facts shared by the region and industry views."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true

from app.extensions import db
from app.i18n import Msg, Named
from app.identity.scope import DataScope
from app.monitoring.datasets import change, rnd
from app.monitoring.filters import ANY_ITEM, Filters, energy_label, source, where
from app.monitoring.models import TOTAL, MonitoringCube
from app.orgs.models import Industry, Region

WAN = Decimal(10000)


def measure(f: Filters) -> tuple[str, str, Decimal, str]:
    """(fact column, unit label, divisor, measure label) of the chosen measure."""
    if f.measure == "tce":
        return "tce", "万吨标准煤", WAN, "综合能耗"
    if f.measure == "amount":
        name, unit = energy_label(f.energy)
        return "amount", unit or "实物量", Decimal(1), Msg("%(name)s消费量", name=name)
    return "co2", "万吨 CO2", WAN, "CO2 排放量"


def window(model, f: Filters) -> list[ColumnElement[bool]]:
    """The months the breakdowns cover: the chosen month, or the whole year."""
    if f.grain == "year" or not f.month:
        return [model.year == f.year]
    return [model.period == f.period]


def prev_window(model, f: Filters, *, months_back: int) -> list[ColumnElement[bool]]:
    if f.grain == "year" or not f.month:
        return [model.year == f.year - 1]
    y, m = divmod((f.year * 12 + f.month - 1) - months_back, 12)
    return [model.period == y * 100 + m + 1]


def scaled(value, divisor: Decimal, places: int = 4):
    if value is None:
        return None
    return rnd(Decimal(value) / divisor, places if divisor != 1 else 3)


def grouped(scope: DataScope, f: Filters, key, *, extra: list | None = None,
            item: str | None = None, with_sector: bool = True) -> dict:
    """{key value: (sum of measure, sum co2, sum tce, sum amount, enterprises)}."""
    model = source(scope)
    col = getattr(model, measure(f)[0])
    count = func.sum(model.enterprises) if model is MonitoringCube else func.count()
    k = key(model) if callable(key) else getattr(model, key)
    stmt = (select(k, func.sum(col), func.sum(model.co2), func.sum(model.tce),
                   func.sum(model.amount), count)
            .where(*where(model, scope, f, item=item, with_sector=with_sector), *(extra or []))
            .group_by(k))
    return {r[0]: r[1:] for r in db.session.execute(stmt)}


def summary(scope: DataScope, f: Filters) -> dict:
    """Headline figures of the window: CO2, energy, YoY, MoM, enterprises."""
    model = source(scope)
    _, unit, div, label = measure(f)
    # one pass over the facts: the window, both comparison windows and the totals row
    # filtered per aggregate (six queries before)
    column = getattr(model, measure(f)[0])
    chosen = model.item == f.item if f.item != ANY_ITEM else true()
    totals = model.item == TOTAL
    now_w = and_(*window(model, f))
    yoy_w = and_(*prev_window(model, f, months_back=12))
    mom_w = false() if f.grain == "year" else and_(*prev_window(model, f, months_back=1))
    count = func.sum(model.enterprises) if model is MonitoringCube else func.count()
    cur, yoy_base, mom_base, co2, tce, ents, estimated = db.session.execute(select(
        func.sum(column).filter(chosen, now_w), func.sum(column).filter(chosen, yoy_w),
        func.sum(column).filter(chosen, mom_w), func.sum(model.co2).filter(totals, now_w),
        func.sum(model.tce).filter(totals, now_w), count.filter(totals, now_w),
        func.sum(model.estimated).filter(totals, now_w),
    ).where(*where(model, scope, f, item=ANY_ITEM), or_(chosen, totals),
            or_(now_w, yoy_w, mom_w))).one()
    if f.grain != "year":
        enterprises = ents or 0
    else:  # a year sums 12 months of enterprise rows; count distinct from the facts
        enterprises = _distinct_enterprises(scope, f)
    from app.monitoring.filters import is_complete

    complete = is_complete(scope, f)
    # an incomplete period is shown but never compared: its change would be an artefact
    return {"value": scaled(cur, div), "unit": unit, "label": label,
            "co2": scaled(co2, WAN), "tce": scaled(tce, WAN),
            "yoy": change(cur, yoy_base) if complete else None,
            "mom": change(cur, mom_base) if complete else None, "enterprises": enterprises,
            "complete": complete,
            # enterprise-months whose CO2 is an estimate (electricity × factor, 6.4.1 a)
            "estimated": int(estimated or 0)}


def _distinct_enterprises(scope: DataScope, f: Filters) -> int:
    from app.monitoring.models import MonitoringFact as F

    stmt = select(func.count(func.distinct(F.enterprise_id))).where(
        *where(F, scope, f, item=TOTAL), F.year == f.year)
    return db.session.scalar(stmt) or 0


def series(scope: DataScope, f: Filters) -> list[tuple[str, object, object, object, object]]:
    """(label, value, same period last year, YoY %, MoM %) over the year (months) or over all
    years (grain = year); values in display units."""
    model = source(scope)
    _, _, div, _ = measure(f)
    if f.grain == "year":
        data = grouped(scope, f, "year")
        years = sorted(data)
        out = []
        for y in years:
            v = data[y][0]
            p = data.get(y - 1, (None,))[0]
            out.append((str(y), scaled(v, div), scaled(p, div), change(v, p), None))
        return out
    data = grouped(scope, f, "period", extra=[model.year.between(f.year - 1, f.year)])
    out = []
    for m in range(1, 13):
        per = f.year * 100 + m
        v = data.get(per, (None,))[0]
        p = data.get(per - 100, (None,))[0]
        prev = data.get(per - 1 if m > 1 else (f.year - 1) * 100 + 12, (None,))[0]
        out.append((f"{f.year}-{m:02d}", scaled(v, div), scaled(p, div), change(v, p),
                    change(v, prev)))
    return out


def child_key(prefix: str):
    """How county-level rows group into the children of the selected region."""
    if not prefix:
        return lambda m: func.substr(m.region_code, 1, 2).concat("0000")
    if len(prefix) == 2:
        return lambda m: func.substr(m.region_code, 1, 4).concat("00")
    return lambda m: m.region_code


def region_names(codes) -> dict[str, str]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    return dict(db.session.execute(select(Region.code, Region.name).where(
        Region.code.in_(codes))).all())


def industry_names(codes) -> dict[str, str]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    rows = db.session.execute(select(Industry.code, Industry.name, Industry.name_en).where(
        Industry.code.in_(codes))).all()
    return {code: Named(name, en) for code, name, en in rows}
