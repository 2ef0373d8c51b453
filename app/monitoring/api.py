"""GET /api/v1/monitoring/{region|industry|enterprise|institution} and
GET /api/v1/countries/emissions: the same datasets as the pages, scoped the same way."""

from __future__ import annotations

from flask_security import auth_required, current_user
from flask_smorest import Blueprint, abort

from app.identity.scope import current_scope
from app.monitoring import filters, service
from app.monitoring.schemas import (
    CountryQuerySchema,
    InstitutionQuerySchema,
    MonitoringQuerySchema,
    ResultSchema,
)

blp = Blueprint("monitoring_api", __name__, url_prefix="/api/v1",
                description="监测 Monitoring (R-6.1)")
VIEW_OF = {"region": "region", "industry": "industry", "enterprise": "enterprise"}


def _build(view: str, args: dict) -> dict:
    try:
        out = service.build(view, {k: v for k, v in args.items() if v is not None},
                            current_scope())
    except filters.FilterError as exc:
        abort(422, message=f"筛选条件有误：{exc.message}",
              messages={"query": {exc.field: [exc.message]}})
    return service.as_json(out)


@blp.route("/monitoring/<any(region,industry,enterprise):view>")
@auth_required("token", "session")
@blp.arguments(MonitoringQuerySchema, location="query")
@blp.response(200, ResultSchema)
def monitoring_series(args, view):
    """Series of the region / industry / enterprise view in the caller's data scope."""
    if not (current_user.has_permission("monitor.read")
            or current_user.has_permission("enterprise.read")):
        abort(403)
    return _build(VIEW_OF[view], args)


@blp.route("/monitoring/institution")
@blp.arguments(InstitutionQuerySchema, location="query")
@blp.response(200, ResultSchema)
def monitoring_institution(args):
    """Public institutions: anonymous callers get the published disclosure only."""
    if current_user.is_authenticated and current_user.has_permission("monitor.read"):
        return _build("institution", args)
    return _build("public_institution", args)


@blp.route("/countries/emissions")
@blp.arguments(CountryQuerySchema, location="query")
@blp.response(200, ResultSchema)
def country_emissions(args):
    """Annual CO2 (Mt) of the chosen countries, share of the world total and trend (CAGR)."""
    out = _build("countries", {"countries": args.get("countries"), "from": args.get("from_"),
                               "to": args.get("to")})
    series: dict = {}
    out["series"], out["unit"] = series, "Mt CO2"
    if len(out.get("datasets") or []) < 2:  # no data in the chosen years or countries
        return out
    emissions, share = out["datasets"][0], out["datasets"][1]
    for c in out["countries"]:
        i = next(n for n, col in enumerate(emissions["columns"]) if col["key"] == c["iso3"])
        j = next(n for n, col in enumerate(share["columns"]) if col["key"] == c["iso3"])
        series[c["iso3"]] = [{"year": int(r[0]), "mt_co2": r[i], "share_pct": s[j]}
                             for r, s in zip(emissions["rows"], share["rows"], strict=True)]
    out["series"] = series
    out["unit"] = "Mt CO2"
    return out
