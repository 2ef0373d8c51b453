"""/api/v1 electricity-carbon factors: the regional simulation (any signed-in user, no tenant
data) and an enterprise's current factor (scoped to the caller)."""

from __future__ import annotations

from flask import request
from flask_security import auth_required
from flask_smorest import Blueprint
from marshmallow import INCLUDE, Schema, fields

from app.api import api_error
from app.factors import checks, library
from app.factors.flow import NetworkError
from app.factors.models import FactorCheck
from app.factors.network import simulate as run_simulation
from app.identity.scope import get_scoped_or_404
from app.orgs.models import Enterprise

blp = Blueprint("factors_api", __name__, url_prefix="/api/v1",
                description="电碳因子 Electricity-carbon factors")


class SimulateIn(Schema):
    class Meta:
        unknown = INCLUDE

    intensity_unit = fields.String(metadata={
        "description": "tCO2/MWh（默认）、kgCO2/kWh、gCO2/kWh 或 kgCO2/MWh；结果以同一单位给出"})
    nodes = fields.Raw(metadata={"type": "array", "description": (
        '[{"id", "generation": [{"source", "mwh", "intensity", "fuel_t_per_mwh"?, '
        '"energy_unit"?}], "consumption_mwh"?}]')})
    flows = fields.Raw(metadata={"type": "array",
                                 "description": '[{"from", "to", "mwh", "energy_unit"?}]'})


@blp.route("/factors/regional/simulate", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(SimulateIn)
@blp.response(200)
def simulate(body):
    """Carbon emission flow (周天睿、康重庆等 2012): E_N = (P_N − P_Bᵀ)⁻¹ P_Gᵀ E_G.

    Answers each node's consumption-side intensity (in the unit given), its split by
    generating source, consumption and emissions, the branch carbon flows and the balance
    (carbon generated = carbon consumed). Nothing is stored; no tenant data is read."""
    payload = request.get_json(silent=True)
    try:
        return run_simulation(payload)
    except NetworkError as exc:
        return api_error(422, "电网数据校验失败：" + "、".join(list(exc.fields)[:5]),
                         fields=exc.fields)


@blp.route("/enterprises/<string:uscc>/electricity-factor")
@auth_required("token", "session")
@blp.response(200)
def electricity_factor(uscc):
    """The enterprise's current factor (value, intercept, r2, n, interval, method, origin,
    version); without one, the industry-and-region median of its peers (origin
    `fallback`). Only within the caller's scope (else 404)."""
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    cur = library.current(enterprise_id=ent.id)
    if cur is not None:
        return {"uscc": ent.uscc, "enterprise": ent.name, **library.as_dict(cur)}
    fb = library.fallback(enterprise=ent)
    if fb is None:
        return api_error(404, f"{ent.name} 尚无电碳因子，且同行业可比企业不足 "
                              f"{library.MIN_PEERS} 家", code="no_factor")
    return {"uscc": ent.uscc, "enterprise": ent.name, "value": fb["value"], "unit": "tCO2/MWh",
            "intercept": None, "r2": None, "n": fb["n"], "interval": [fb["low"], fb["high"]],
            "interval_level": "peers_iqr", "method": "peer_median", "origin": "fallback",
            "version": None, "fallback": fb}


@blp.route("/factors/checks/<int:check_id>")
@auth_required("token", "session")
@blp.response(200)
def check_record(check_id):
    """A third-party check record: figures, the signed statement, the SM2 signature (hex
    DER) and the platform's public key; only within the caller's scope (else 404)."""
    return checks.as_dict(get_scoped_or_404(FactorCheck, check_id))


@blp.route("/factors/estimates")
@auth_required("token", "session")
@blp.response(200)
def estimates_figures():
    """A region's CO2 for a year: GB/T 32150 accounted, the estimates from electricity beside
    it (估算（电碳因子）, with factor and interval per enterprise-month), and the total the
    region reports under its inclusion setting. `region` must be within the caller's scope."""
    from flask_security import current_user

    from app.factors import estimates
    from app.identity.scope import current_scope

    if not current_user.has_permission("monitor.read"):
        return api_error(403, "没有权限执行此操作（需要 monitor.read）", code="forbidden")
    scope = current_scope()
    region = request.args.get("region") or (scope.region[0] if scope.region else None)
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        return api_error(422, "year 应为年份", fields={"year": "取值无效"})
    if not region or not scope.covers_region(region):
        return api_error(404, "地区不存在或不在您的数据范围内", fields={"region": "不在范围内"})
    fig = estimates.region_figures(region_code=region, year=year, scope=scope)
    fig["rows"] = [{"enterprise_id": r.enterprise_id, "period": r.period,
                    "electricity_mwh": float(r.electricity_mwh), "factor_id": r.factor_id,
                    "factor_origin": r.factor_origin, "slope": float(r.slope),
                    "intercept": float(r.intercept), "co2": float(r.co2),
                    "interval": [None if r.co2_low is None else float(r.co2_low),
                                 None if r.co2_high is None else float(r.co2_high)],
                    "label": estimates.LABEL} for r in fig["rows"]]
    return fig
