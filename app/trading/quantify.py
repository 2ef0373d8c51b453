"""Quantification per monitoring period (R-6.3b): the period's monitoring figures, the
project's methodology and the factors it needs go through `methodologies.calculate` (Decimal);
the report keeps the monthly figures, the result with one derivation line per parameter (each
naming its origin: meter and months, factor and its source) and the reduction.

grid_renewable: EG_net is the metered on-grid electricity (上网电量) of the period — the
electricity the project delivers to the grid and displaces there; own use is already outside
it, so generation − own use is not used. EF_OM / EF_BM come from the OM/BM factor kind for
the project's regional grid and the period's starting year; an unconfirmed (null) factor is
refused unless the caller gives the checked values with their source.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.extensions import db
from app.i18n import Msg
from app.trading import methodologies, monitoring
from app.trading import origins as texts
from app.trading.models import PROJECT_TYPES, MonitoringReport, Project

#: province (first two digits of the region code) -> regional grid, as the MEE's annual
#: "减排项目中国区域电网基准线排放因子" divides them. Inner Mongolia (15) is split between the
#: north and northeast grids by league: left out, so its projects must give their factors.
PROVINCE_GRID = {
    **dict.fromkeys(("11", "12", "13", "14", "37"), "north"),
    **dict.fromkeys(("21", "22", "23"), "northeast"),
    **dict.fromkeys(("31", "32", "33", "34", "35"), "east"),
    **dict.fromkeys(("36", "41", "42", "43", "50", "51"), "central"),
    **dict.fromkeys(("61", "62", "63", "64", "65"), "northwest"),
    **dict.fromkeys(("44", "45", "46", "52", "53"), "south"),
}
TECHNOLOGY = {"photovoltaic": "solar", "wind": "wind"}


class QuantifyRefused(ValueError):
    """Missing data or factor: `fields` names each missing thing (Chinese messages)."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def grid_factor(*, region_code: str, year: int) -> dict | None:
    grid = PROVINCE_GRID.get((region_code or "")[:2])
    return next((f for f in methodologies.grid_factors()
                 if f["grid"] == grid and f["year"] == year), None)


def _period(start: Any, end: Any) -> tuple[date, date]:
    errors = {}
    if not isinstance(start, date):
        errors["period_start"] = "日期格式应为 YYYY-MM-DD"
    elif start.day != 1:
        errors["period_start"] = "监测期须从某月 1 日开始（监测数据按月汇总）"
    if not isinstance(end, date):
        errors["period_end"] = "日期格式应为 YYYY-MM-DD"
    elif (end + timedelta(days=1)).day != 1:
        errors["period_end"] = "监测期须在某月最后一天结束（监测数据按月汇总）"
    elif isinstance(start, date) and end < start:
        errors["period_end"] = "监测期结束日期不能早于开始日期"
    if errors:
        raise QuantifyRefused(errors)
    return start, end


def _sum(rows: list[dict], param: str, meter: str | None, errors: dict) -> Decimal:
    missing = [r["month"] for r in rows if r["_" + param] is None]
    if not meter:
        errors[param] = f"项目未登记{monitoring.LABELS[param]}计量表"
    elif missing:
        errors[param] = f"{monitoring.LABELS[param]}缺少以下月份的计量数据：" + "、".join(missing)
    return sum((r["_" + param] or Decimal(0) for r in rows), Decimal(0))


def _grid_inputs(project: Project, rows: list[dict], start: date, factors: dict | None,
                 errors: dict) -> tuple[dict, dict]:
    eg = _sum(rows, "ongrid", project.ongrid_meter, errors)
    origins = {"eg_net_mwh": Msg(texts.ONGRID, meter=project.ongrid_meter,
                                 start=rows[0]["month"], end=rows[-1]["month"], n=len(rows))}
    params: dict[str, Any] = {"eg_net_mwh": str(eg),
                              "technology": TECHNOLOGY.get(project.type, "other")}
    origins["technology"] = Msg(texts.PROJECT_TYPE,
                                type=PROJECT_TYPES.get(project.type, project.type))
    if factors:
        src = str(factors.get("source") or "").strip()
        if not src:
            errors["factors.source"] = "给出因子时必须注明其公布来源"
        for k in ("ef_om", "ef_bm"):
            if factors.get(k) in (None, ""):
                errors[f"factors.{k}"] = "必填"
            params[k] = factors.get(k)
            origins[k] = Msg(texts.GIVEN, source=src)
        return params, origins
    found = grid_factor(region_code=project.region_code, year=start.year)
    if found is None:
        errors["ef_om"] = (f"没有项目所在区域电网 {start.year} 年的 OM/BM 因子"
                           "（内蒙古等跨区域电网省份须给出因子及来源）")
        return params, origins
    for k in ("ef_om", "ef_bm"):
        if found.get(k) is None:
            errors[k] = (f"{found['grid_name']} {start.year} 年 {k.upper()} 未经核对"
                         f"（{found.get('status')}），请给出经核对的因子及来源")
        params[k] = found.get(k)
        origins[k] = Msg(texts.GRID, grid=found["grid_name"], year=start.year,
                         source=found["source"])
    return params, origins


def quantify(*, project: Project, period_start: date, period_end: date,
             factors: dict | None = None, parameters: dict | None = None) -> tuple[dict, dict]:
    """(figures, result) for the period; raises QuantifyRefused naming what is missing."""
    start, end = _period(period_start, period_end)
    month_list = monitoring.months(start, end)
    rows = monitoring.figures([project], month_list)[project.id]
    errors: dict[str, str] = {}
    if project.methodology == "grid_renewable":
        params, origins = _grid_inputs(project, rows, start, factors, errors)
    else:  # energy efficiency / GB/T 33760: the declared parameters of the period
        params = dict(parameters or {})
        origins = {k: "项目业主申报（监测计划所列参数）" for k in params}
        if not params:
            errors["parameters"] = "该方法学须给出监测期参数"
    if errors:
        raise QuantifyRefused(errors)
    try:
        result = methodologies.calculate(project.methodology, params)
    except methodologies.MethodologyError as exc:
        raise QuantifyRefused(exc.fields) from exc
    for line in result["lines"]:
        if line["kind"] == "parameter" and line["name"] in origins:
            line["origin"] = origins[line["name"]]
    result["eg_net_basis"] = "上网电量" if project.methodology == "grid_renewable" else None
    figs = {"months": monitoring.public(rows), "unit": "MWh"}
    return figs, result


def quantify_many(*, projects: list[Project], period_start: date, period_end: date,
                  factors: dict | None = None) -> dict[str, dict | dict[str, str]]:
    """Quantify many grid projects for one period: the monitoring figures of all of them in
    one query (set-based), then the methodology per project. code -> result, or the refusal
    fields of that project (one project's missing data never stops the others)."""
    start, end = _period(period_start, period_end)
    rows_by = monitoring.figures(projects, monitoring.months(start, end))
    out: dict[str, dict] = {}
    for p in projects:
        errors: dict[str, str] = {}
        params, origins = _grid_inputs(p, rows_by[p.id], start, factors, errors)
        if errors:
            out[p.code] = {"refused": errors}
            continue
        try:
            out[p.code] = methodologies.calculate(p.methodology, params)
        except methodologies.MethodologyError as exc:
            out[p.code] = {"refused": exc.fields}
    return out


def create_report(*, project: Project, period_start: date, period_end: date, user: Any = None,
                  factors: dict | None = None,
                  parameters: dict | None = None) -> MonitoringReport:
    """A draft monitoring report with its quantified reduction; nothing written on refusal."""
    exists = db.session.scalar(select(MonitoringReport.id).where(
        MonitoringReport.project_id == project.id,
        MonitoringReport.period_start == period_start,
        MonitoringReport.period_end == period_end))
    if exists:
        raise QuantifyRefused({"period_start": "该监测期的报告已存在"})
    figs, result = quantify(project=project, period_start=period_start, period_end=period_end,
                            factors=factors, parameters=parameters)
    report = MonitoringReport(project_id=project.id, period_start=period_start,
                              period_end=period_end, status="draft", figures=figs,
                              result=result, reduction=Decimal(result["reduction"]),
                              created_by=getattr(user, "id", None))
    db.session.add(report)
    db.session.flush()
    audit.record("trading.report.create", object_type="trading_monitoring_report",
                 object_id=report.id, user=user,
                 summary={"project": project.code, "period": [str(period_start),
                                                              str(period_end)],
                          "reduction": result["reduction"]})
    return report


def recompute(*, report: MonitoringReport, user: Any = None, factors: dict | None = None,
              parameters: dict | None = None) -> MonitoringReport:
    """Re-quantify a draft (new readings, corrected factors); submitted reports are frozen."""
    if report.status != "draft":
        raise QuantifyRefused({"status": "只有草稿状态的报告可以重新计算"})
    figs, result = quantify(project=report.project, period_start=report.period_start,
                            period_end=report.period_end, factors=factors,
                            parameters=parameters)
    old = str(report.reduction)
    report.figures, report.result = figs, result
    report.reduction = Decimal(result["reduction"])
    audit.record("trading.report.recompute", object_type="trading_monitoring_report",
                 object_id=report.id, user=user,
                 summary={"project": report.project.code, "old": old,
                          "reduction": result["reduction"]})
    return report


def to_dict(r: MonitoringReport) -> dict:
    from app.trading.models import REPORT_STATUSES

    return {"id": r.id, "project": r.project.code, "project_name": r.project.name,
            "period_start": r.period_start.isoformat(), "period_end": r.period_end.isoformat(),
            "status": r.status, "status_label": REPORT_STATUSES.get(r.status, r.status),
            "reduction": str(r.reduction) if r.reduction is not None else None,
            "unit": "tCO2e", "figures": r.figures, "result": r.result,
            "certified_tonnes": r.certified_tonnes}
