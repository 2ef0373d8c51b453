"""/api/v1 analytics: forecasts, improvement plans, anomalies, potential, at-risk list."""

from __future__ import annotations

from datetime import date

from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.accounting.schemas import plain
from app.analytics import anomalies as kinds
from app.analytics import planner, service
from app.analytics.schemas import (
    ExplainIn,
    FlagQuery,
    ForecastQuery,
    PotentialQuery,
    ScenarioIn,
    YearQuery,
)
from app.api import api_error
from app.identity.scope import current_scope, get_scoped_or_404
from app.orgs.models import Enterprise

blp = Blueprint("analytics_api", __name__, url_prefix="/api/v1",
                description="分析与预测 Analytics: forecasts, anomalies, planner, potential")


def _need(*perms: str):
    if not any(current_user.has_permission(p) for p in perms):
        return api_error(403, "没有权限执行此操作")
    return None


def _year(year: int | None) -> int:
    return year or date.today().year


@blp.route("/analytics/forecast")
@auth_required("token", "session")
@blp.arguments(ForecastQuery, location="query", as_kwargs=True)
@blp.response(200)
def forecast(level, code, measure):
    """Next 12 months of an enterprise's, industry's or region's monthly CO2 or energy,
    with 95 % intervals, the method used and why, and the rolling-origin backtest (MAPE,
    MASE) of the model and of the seasonal-naive baseline. Industry and region series need
    `monitor.read`; every series is narrowed to the caller's data scope."""
    if level != "enterprise" and (denied := _need("monitor.read")):
        return denied
    try:
        return plain(service.forecast_for(level=level, code=code, measure=measure,
                                          scope=current_scope()))
    except service.AnalyticsError as exc:
        return api_error(422, exc.message, fields={exc.field: exc.message})
    except LookupError:
        return api_error(404, "资源不存在或不在您的数据范围内")


@blp.route("/analytics/accuracy")
@auth_required("token", "session")
@blp.response(200)
def accuracy():
    """Backtest accuracy of the enterprise forecasts, per industry division."""
    if denied := _need("monitor.read"):
        return denied
    return plain(service.accuracy(scope=current_scope()))


@blp.route("/analytics/at-risk")
@auth_required("token", "session")
@blp.arguments(YearQuery, location="query", as_kwargs=True)
@blp.response(200)
def at_risk(year=None):
    """Enterprises whose projected grade for the year is worse than last year's."""
    if denied := _need("monitor.read"):
        return denied
    return plain(service.at_risk(scope=current_scope(), year=_year(year)))


@blp.route("/analytics/potential")
@auth_required("token", "session")
@blp.arguments(PotentialQuery, location="query", as_kwargs=True)
@blp.response(200)
def potential(year=None, industry=None, top=3):
    """Benchmark enterprises and reduction potential to each industry's best quartile."""
    if denied := _need("monitor.read"):
        return denied
    return plain(service.potential(scope=current_scope(), year=year or date.today().year - 1,
                                   industry=industry, top=top))


@blp.route("/analytics/anomalies")
@auth_required("token", "session")
@blp.arguments(FlagQuery, location="query", as_kwargs=True)
@blp.response(200)
def anomalies(status="open", year=None, kind=None):
    """Anomaly flags of the enterprise-months in the caller's scope."""
    if denied := _need("monitor.read", "enterprise.read"):
        return denied
    return plain([_flag(f) for f in service.list_flags(scope=current_scope(), status=status,
                                                       year=year, kind=kind)])


def _flag(f) -> dict:
    return {"id": f.id, "enterprise": f.enterprise.uscc, "enterprise_name": f.enterprise.name,
            "period": f.period, "kind": f.kind, "kind_label": kinds.KINDS[f.kind],
            "score": round(f.score, 2), "reason": f.reason, "numbers": f.numbers,
            "status": f.status, "note": f.note, "explained_at": f.explained_at}


@blp.route("/analytics/anomalies/<int:flag_id>/explain", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ExplainIn)
@blp.response(200)
def explain(body, flag_id):
    """A reviewer marks a flag as explained, with a note (audited)."""
    if denied := _need("case.review.initial", "case.review.final"):
        return denied
    try:
        flag = service.explain_flag(flag_id=flag_id, note=body["note"], scope=current_scope(),
                                    user=current_user)
    except LookupError:
        return api_error(404, "资源不存在或不在您的数据范围内")
    except ValueError as exc:
        return api_error(422, str(exc), fields={"note": str(exc)})
    return plain(_flag(flag))


@blp.route("/enterprises/<string:uscc>/improvement-plan")
@auth_required("token", "session")
@blp.arguments(YearQuery, location="query", as_kwargs=True)
@blp.response(200)
def improvement_plan(uscc, year=None):
    """CO2 (and intensity) to cut for each better grade, the year-end projection, the
    measures on offer and the saved scenarios."""
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    year = year or service.latest_year(ent)
    out = service.plan(enterprise=ent, year=year)
    out["projection"] = service.projection(enterprise=ent, year=year)
    out["scenarios"] = [{"id": s.id, "name": s.name, "measures": s.measures,
                         "result": s.result, "created_at": s.created_at}
                        for s in service.scenarios(enterprise=ent, year=year)]
    return plain(out)


@blp.route("/enterprises/<string:uscc>/improvement-plan/scenarios", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ScenarioIn)
@blp.response(200)
def scenario(body, uscc):
    """Evaluate measures with the accounting engine; with a `name`, save the scenario."""
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    measures = [{k: v for k, v in m.items() if v is not None} for m in body["measures"]]
    try:
        if body.get("name"):
            row = service.save_scenario(enterprise=ent, year=body["year"], name=body["name"],
                                        measures=measures, user=current_user)
            return plain({"id": row.id, **row.result})
        return plain(service.evaluate(enterprise=ent, year=body["year"], measures=measures))
    except planner.PlanError as exc:
        return api_error(422, exc.message, fields={exc.field: exc.message})
