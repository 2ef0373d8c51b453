"""Enterprise monitoring (R-6.1.3): a searchable, sortable list of the enterprises in the
caller's scope with their CO2 and energy for the chosen month or year; the detail is the
enterprise's carbon account page (`/accounts/<uscc>`)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, or_, select

from app.extensions import db
from app.i18n import Msg, Named
from app.identity.scope import DataScope
from app.monitoring import cube
from app.monitoring.datasets import Column, Dataset, rnd
from app.monitoring.filters import Filters, energy_label, where
from app.monitoring.models import MonitoringFact
from app.monitoring.region import _period_label
from app.orgs.models import Enterprise, Industry, Region

PAGE_SIZE = 50
SORTS = {"co2", "tce", "amount", "intensity", "name", "uscc"}


def _grades(ids: list[int], f: Filters) -> dict[int, str]:
    from app.accounting.models import CarbonCode
    from app.monitoring.industry import DEFAULT_SCHEME

    if not ids:
        return {}
    key = str(f.year) if f.grain == "year" or not f.month else f"{f.year}-{f.month:02d}"
    rows = db.session.execute(select(CarbonCode.enterprise_id, CarbonCode.grade_label,
                                     CarbonCode.graded)
                              .where(CarbonCode.enterprise_id.in_(ids),
                                     CarbonCode.is_current.is_(True),
                                     CarbonCode.period_key == key,
                                     CarbonCode.scheme_id == DEFAULT_SCHEME)).all()
    return {e: (label if graded else "未评级") for e, label, graded in rows}


def enterprise_view(scope: DataScope, f: Filters, *, page_size: int = PAGE_SIZE) -> dict:
    F = MonitoringFact
    win = [F.year == f.year] if f.grain == "year" or not f.month else [F.period == f.period]
    agg = (select(F.enterprise_id.label("eid"), func.sum(F.co2).label("co2"),
                  func.sum(F.tce).label("tce"), func.sum(F.amount).label("amount"),
                  func.sum(F.value_added).label("va"), func.count().label("months"))
           .where(*where(F, scope, f), *win).group_by(F.enterprise_id).subquery())
    intensity = agg.c.co2 / func.nullif(agg.c.va, 0)
    stmt = (select(Enterprise.id, Enterprise.uscc, Enterprise.name, Region.name,
                   Enterprise.industry_code, Industry.name, agg.c.co2, agg.c.tce,
                   agg.c.amount, intensity, agg.c.months, Industry.name_en)
            .join(agg, agg.c.eid == Enterprise.id)
            .join(Region, Region.code == Enterprise.region_code)
            .outerjoin(Industry, Industry.code == Enterprise.industry_code))
    if f.q:
        stmt = stmt.where(or_(Enterprise.name.icontains(f.q, autoescape=True),
                              Enterprise.uscc.icontains(f.q, autoescape=True)))
    sort = f.sort if f.sort in SORTS else "co2"
    col = {"co2": agg.c.co2, "tce": agg.c.tce, "amount": agg.c.amount, "intensity": intensity,
           "name": Enterprise.name, "uscc": Enterprise.uscc}[sort]
    col = col.asc() if f.order == "asc" else col.desc()
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows_db = db.session.execute(stmt.order_by(col.nulls_last(), Enterprise.uscc)
                                 .offset((f.page - 1) * page_size).limit(page_size)).all()
    grades = _grades([r[0] for r in rows_db], f)
    name, unit = energy_label(f.energy) if f.energy else ("全部能源", None)
    rows = [[r[1], r[2], r[3], r[4] or "—", Named(r[5], r[11]) if r[5] else "未登记",
             rnd(r[6], 3), rnd(r[7], 3),
             rnd(r[8], 3) if f.energy else None, rnd(r[9], 4) if not f.energy else None,
             grades.get(r[0], "—"), f"/accounts/{r[1]}"] for r in rows_db]
    table = Dataset(
        "enterprises", Msg("企业列表（%(period)s，%(energy)s，第 %(page)s 页 / 共 %(total)s 家）",
                           period=_period_label(f), energy=name, page=f.page, total=total),
        [Column("uscc", "统一社会信用代码", kind="text"), Column("name", "企业名称", kind="text"),
         Column("region", "所在地区", kind="text"),
         Column("industry_code", "行业代码", kind="text"),
         Column("industry", "行业", kind="text"), Column("co2", "CO2 排放量", "吨 CO2"),
         Column("tce", "综合能耗", "吨标准煤"), Column("amount", "实物消费量", unit),
         Column("intensity", "碳排放强度", "吨 CO2/万元增加值"),
         Column("grade", "碳效等级", kind="text"), Column("url", "碳账户", kind="link")],
        rows, {"type": "bar", "x": "name", "series": ["co2" if f.measure != "tce" else "tce"],
               "y_name": "CO2 排放量（吨 CO2）" if f.measure != "tce" else "综合能耗（吨标准煤）",
               "x_name": "企业", "horizontal": True, "limit": 15})
    return {"title": "企业监测", "datasets": [table], "total": total, "page": f.page,
            "pages": max(1, -(-total // page_size)), "period_label": _period_label(f),
            "summary": cube.summary(scope, replace(f, q=""))}
