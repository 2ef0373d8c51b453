"""Analytics' public face (R-10.3, R-4b): forecasts with backtests, year-end projections,
anomaly flags, the grade-improvement planner and the reduction potential.

Reads the current carbon accounts (never writes them); writes only its own tables, in the
caller's transaction (never commits)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select

from app.accounting import codes
from app.accounting.models import CarbonCode
from app.analytics import forecast, series
from app.analytics.flags import (  # noqa: F401  (part of the face)
    _window,
    detect_flags,
    enterprise_warnings,
    explain_flag,
    flags_basis,
    list_flags,
)
from app.analytics.models import ForecastRun
from app.analytics.plans import (  # noqa: F401  (part of the face)
    evaluate,
    export_scenarios,
    plan,
    save_scenario,
    scenarios,
)
from app.analytics.potential import potential  # noqa: F401
from app.db import utcnow
from app.extensions import db
from app.i18n import Msg
from app.identity.scope import DataScope, get_scoped, scoped
from app.orgs.models import Enterprise


class AnalyticsError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message




def latest_year(enterprise: Enterprise) -> int:
    from app.accounting import service as accounting

    return accounting.latest_year(enterprise_id=enterprise.id)


# ------------------------------------------------------------------ forecasts


def forecast_for(*, level: str, code: str | None, measure: str,
                 scope: DataScope) -> dict[str, Any]:
    """The next 12 months of one series within the caller's scope, with intervals, the
    method used, its reason and the backtest of model and baseline."""
    if level not in series.LEVELS:
        raise AnalyticsError("level", "应为 enterprise、industry 或 region")
    if measure not in ("co2", "energy"):
        raise AnalyticsError("measure", "应为 co2 或 energy")
    if not code:
        raise AnalyticsError("code", "必填：企业统一社会信用代码、行业代码或行政区划代码")
    last = series.latest_period(scope)
    if last is None:
        raise AnalyticsError("code", "数据范围内没有核算数据")
    months = _window()
    if level == "enterprise":
        ent = get_scoped(Enterprise, code, by="uscc", scope=scope)
        if ent is None:
            raise LookupError(code)
        values = series.enterprise_series(enterprise_id=ent.id, measure=measure, last=last,
                                          months=months)
        name = ent.name
    else:
        values = series.aggregate(level=level, code=code, measure=measure, last=last,
                                  months=months, scope=scope)
        name = _name(level, code)
    fc = forecast.forecast(values)
    periods = series.month_range(last, months)
    label, unit = series.MEASURES[measure][1:]
    first = next((i for i, v in enumerate(values) if v is not None), len(values))
    return {"level": level, "code": code, "name": name, "measure": measure,
            "measure_label": label, "unit": unit,
            "history": [{"period": p, "value": v} for p, v in zip(periods[first:],
                                                                 values[first:], strict=True)],
            "periods": series.next_months(last, len(fc.values)), **fc.as_dict()}


def _name(level: str, code: str) -> str:
    from app.orgs.models import Industry, Region

    model = Industry if level == "industry" else Region
    row = db.session.get(model, code)
    return row.name if row is not None else code


def run_forecasts(*, enterprise_ids: list[int] | None = None, processes: int = 1) -> int:
    """Forecast CO2 and value added of these enterprises (or all) and store them with their
    backtests, replacing earlier runs. Returns the series written."""
    from app.analytics.batch import compute_many

    last = series.latest_period()
    if last is None:
        return 0
    m = series.enterprise_matrix(last=last, months=_window(), enterprise_ids=enterprise_ids)
    if not m.ids:
        return 0
    usccs = dict(db.session.execute(select(Enterprise.id, Enterprise.uscc).where(
        Enterprise.id.in_(m.ids))).all())
    results = compute_many(np.vstack([m.co2, m.va]), processes=processes)
    db.session.execute(delete(ForecastRun).where(
        ForecastRun.level == "enterprise", ForecastRun.enterprise_id.in_(m.ids)))
    n, rows, now = len(m.ids), [], utcnow()
    for k, fc in enumerate(results):
        i, measure = k % n, ("co2", "va")[k // n]
        bt = fc["backtest"] or {}
        mat = m.co2 if measure == "co2" else m.va
        rows.append(dict(
            level="enterprise", code=usccs[m.ids[i]], measure=measure, enterprise_id=m.ids[i],
            region_code=m.regions[i], industry_code=m.industries[i], last_period=last,
            months=int(np.count_nonzero(~np.isnan(mat[i]))), method=fc["method"],
            reason=(fc["reason"] or "")[:300], result=fc,
            model_mase=(bt.get("model") or {}).get("mase"),
            baseline_mase=(bt.get("baseline") or {}).get("mase"),
            model_mape=(bt.get("model") or {}).get("mape"),
            baseline_mape=(bt.get("baseline") or {}).get("mape"), computed_at=now))
    for i in range(0, len(rows), 5000):
        db.session.execute(ForecastRun.__table__.insert(), rows[i:i + 5000])
    return len(rows)


def accuracy(*, scope: DataScope) -> list[dict[str, Any]]:
    """Backtest accuracy of the enterprise CO2 forecasts per industry division: how many
    series, how many use the model, mean MAPE / MASE of model and baseline."""
    F = ForecastRun
    div = func.substr(F.industry_code, 1, 2)
    stmt = select(div, func.count(), func.count().filter(F.method == "ets"),
                  func.count(F.model_mase), func.avg(F.model_mape), func.avg(F.baseline_mape),
                  func.avg(F.model_mase), func.avg(F.baseline_mase)).where(
        F.level == "enterprise", F.measure == "co2").group_by(div).order_by(div)
    if not scope.all:
        stmt = stmt.where(F.enterprise_id.in_(scoped(select(Enterprise.id), Enterprise, scope)))
    names = _industry_names()
    out = []
    for code, n, used, tested, mape_m, mape_b, mase_m, mase_b in db.session.execute(stmt):
        out.append({"industry_code": code, "industry_name": names.get(code, code or "未登记"),
                    "series": n, "model_used": used, "backtested": tested,
                    "model_mape": _r(mape_m), "baseline_mape": _r(mape_b),
                    "model_mase": _r(mase_m, 3), "baseline_mase": _r(mase_b, 3)})
    return out


def _r(v, places: int = 2):
    return None if v is None else round(float(v), places)


def _industry_names() -> dict[str, str]:
    from app.orgs.models import Industry

    return dict(db.session.execute(select(Industry.code, Industry.name)).all())


# ------------------------------------------------------------------ projection


def _stored(enterprise_id: int, measure: str) -> ForecastRun | None:
    return db.session.scalar(select(ForecastRun).where(
        ForecastRun.level == "enterprise", ForecastRun.enterprise_id == enterprise_id,
        ForecastRun.measure == measure))


def _ytd(enterprise_id: int, year: int) -> tuple[Decimal, Decimal, int, int]:
    from app.accounting.models import CarbonAccount as A

    co2, va, n, last = db.session.execute(select(
        func.coalesce(func.sum(A.co2_total), 0), func.coalesce(func.sum(A.value_added), 0),
        func.count(), func.max(A.period)).where(
        A.enterprise_id == enterprise_id, A.is_current.is_(True),
        A.period.between(year * 100 + 1, year * 100 + 12))).one()
    return Decimal(co2), Decimal(va), n, last or 0


def _rest_of_year(run: ForecastRun | None, year: int, after: int) -> tuple[Decimal, int]:
    """Forecast total of the months of `year` after month `after` (yyyymm)."""
    if run is None or not run.result.get("values"):
        return Decimal(0), 0
    months = series.next_months(run.last_period, len(run.result["values"]))
    vals = [Decimal(str(v)) for p, v in zip(months, run.result["values"], strict=True)
            if p // 100 == year and p > after]
    return sum(vals, Decimal(0)), len(vals)


def projection(*, enterprise: Enterprise, year: int) -> dict[str, Any] | None:
    """Year-end projection of CO2, value added, intensity, K and grade: the months
    accounted so far plus the stored forecast of the rest. None without data or forecast."""
    co2, va, n, last = _ytd(enterprise.id, year)
    if n == 0:
        return None
    add_co2, k1 = _rest_of_year(_stored(enterprise.id, "co2"), year, last)
    add_va, k2 = _rest_of_year(_stored(enterprise.id, "va"), year, last)
    missing = 12 - n
    if missing and (k1 < missing or k2 < missing):
        return {"complete": False, "months": n,
                "reason": Msg("已核算 %(n)s 个月，其余月份暂无预测（预测尚未生成或数据不足）", n=n)}
    p_co2, p_va = co2 + add_co2, va + add_va
    out = {"complete": True, "year": year, "months": n, "forecast_months": missing,
           "co2": p_co2, "value_added": p_va,
           "intensity": None if p_va <= 0 else (p_co2 / p_va).quantize(Decimal("0.000001"))}
    sch = codes.schemes()[codes.DEFAULT_SCHEMES[0]]
    bench = _benchmark_for(enterprise, year)
    if bench is None or p_va <= 0:
        out["grade"] = None
        out["reason"] = "暂无行业基准或增加值，无法预测等级"
        return out
    k = codes.engine.k_value(p_co2, p_va, bench.co2_total - co2 + p_co2,
                             bench.value_added_total)
    out["k_value"] = k
    if k is None:
        out["grade"] = None
        return out
    t = sch.grade(k)
    out.update(grade=t.grade, grade_label=t.label, colour=t.colour,
               benchmark_period=bench.period_key,
               text=Msg("按当前趋势，%(year)s 年预计为碳效%(grade)s（K≈%(k)s）", year=year,
                        grade=t.label, k=k))
    return out


def _benchmark_for(enterprise: Enterprise, year: int):
    """The year's benchmark of the enterprise's industry, else the latest earlier one."""
    return codes.benchmark_for(enterprise=enterprise, year=year)


def at_risk(*, scope: DataScope, year: int, limit: int = 200) -> list[dict[str, Any]]:
    """Enterprises in scope whose projected grade for `year` is worse than last year's."""
    prev = {c.enterprise_id: c for c in db.session.scalars(scoped(select(CarbonCode),
                                                                  CarbonCode, scope).where(
        CarbonCode.period_key == str(year - 1), CarbonCode.is_current.is_(True),
        CarbonCode.graded.is_(True), CarbonCode.scheme_id == codes.DEFAULT_SCHEMES[0]))}
    if not prev:
        return []
    out = []
    ents = db.session.scalars(select(Enterprise).where(Enterprise.id.in_(list(prev))))
    for ent in ents:
        p = projection(enterprise=ent, year=year)
        if p and p.get("grade") and p["grade"] > prev[ent.id].grade:
            out.append({"uscc": ent.uscc, "name": ent.name, "region_code": ent.region_code,
                        "industry_code": ent.industry_code,
                        "last_grade": prev[ent.id].grade, "last_label": prev[ent.id].grade_label,
                        "projected_grade": p["grade"], "projected_label": p["grade_label"],
                        "k_value": p["k_value"], "months": p["months"]})
    out.sort(key=lambda r: (-(r["projected_grade"] - r["last_grade"]), -(r["k_value"] or 0)))
    return out[:limit]
