"""Analytics pages (thin): forecasts with their backtests, the at-risk list, anomaly flags
for reviewers, the reduction potential, and an enterprise's improvement planner."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user

from app.accounting.schemas import plain
from app.analytics import anomalies, planner, service
from app.identity.scope import current_scope, get_scoped_or_404
from app.orgs.models import Enterprise

bp = Blueprint("analytics", __name__, url_prefix="/analytics")


def _require(*perms: str) -> None:
    if not any(current_user.has_permission(p) for p in perms):
        abort(403)


@bp.route("/forecast")
@auth_required("session")
def forecast():
    scope = current_scope()
    level = request.args.get("level") or ("enterprise" if scope.enterprise and not scope.region
                                          and not scope.all else "region")
    code = (request.args.get("code") or "").strip()
    if not code:
        code = scope.enterprise[0] if level == "enterprise" and scope.enterprise else (
            scope.region[0] if scope.region else "330000")
    measure = request.args.get("measure") or "co2"
    if level != "enterprise":
        _require("monitor.read")
    result, error = None, None
    try:
        result = service.forecast_for(level=level, code=code, measure=measure, scope=scope)
    except service.AnalyticsError as exc:
        error = exc.message
    except LookupError:
        abort(404)
    accuracy = service.accuracy(scope=scope) if current_user.has_permission(
        "monitor.read") else []
    return render_template("analytics/forecast.html", level=level, code=code,
                           measure=measure, result=result, error=error, accuracy=accuracy,
                           data_json=json.dumps(plain(result) if result else {},
                                                ensure_ascii=False))


@bp.route("/at-risk")
@auth_required("session")
def at_risk():
    _require("monitor.read")
    year = request.args.get("year", type=int) or date.today().year
    return render_template("analytics/at_risk.html", year=year,
                           rows=service.at_risk(scope=current_scope(), year=year))


@bp.route("/anomalies")
@auth_required("session")
def flags():
    _require("monitor.read", "case.review.initial", "case.review.final")
    status = request.args.get("status") or "open"
    if status not in ("open", "explained", "cleared"):
        status = "open"
    kind = request.args.get("kind") or None
    if kind not in anomalies.KINDS:
        kind = None
    rows = service.list_flags(scope=current_scope(), status=status,
                              year=request.args.get("year", type=int), kind=kind)
    by_ent: dict = {}
    for f in rows:
        by_ent.setdefault(f.enterprise, []).append(f)
    can_explain = any(current_user.has_permission(p)
                      for p in ("case.review.initial", "case.review.final"))
    return render_template("analytics/anomalies.html", groups=by_ent, status=status,
                           kind=kind, kinds=anomalies.KINDS, can_explain=can_explain)


@bp.route("/anomalies/<int:flag_id>/explain", methods=["POST"])
@auth_required("session")
def explain(flag_id: int):
    _require("case.review.initial", "case.review.final")
    try:
        service.explain_flag(flag_id=flag_id, note=request.form.get("note", ""),
                             scope=current_scope(), user=current_user)
    except LookupError:
        abort(404)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("analytics.flags"))
    flash("已标记为已说明", "success")
    return redirect(url_for("analytics.flags"))


@bp.route("/potential")
@auth_required("session")
def potential():
    _require("monitor.read")
    year = request.args.get("year", type=int) or date.today().year - 1
    return render_template("analytics/potential.html", year=year, rows=service.potential(
        scope=current_scope(), year=year, industry=request.args.get("industry") or None))


def _measures_from(form) -> list[dict]:
    out = []
    for kind, spec in planner.MEASURES.items():
        if form.get(f"use_{kind}"):
            out.append({"kind": kind, **{p: form.get(f"{kind}_{p}", "") for p in spec["params"]}})
    return out


@bp.route("/plan/<string:uscc>", methods=["GET", "POST"])
@auth_required("session")
def plan(uscc: str):
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    year = request.values.get("year", type=int) or service.latest_year(ent)
    result, errors = None, {}
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        measures = _measures_from(form)
        try:
            if form.get("save"):
                if not current_user.has_permission("energy.write"):
                    abort(403)
                service.save_scenario(enterprise=ent, year=year, name=form.get("name", ""),
                                      measures=measures, user=current_user)
                flash("情景已保存", "success")
                return redirect(url_for("analytics.plan", uscc=uscc, year=year))
            result = service.evaluate(enterprise=ent, year=year, measures=measures)
        except planner.PlanError as exc:
            errors[exc.field] = exc.message
    return render_template("analytics/plan.html", ent=ent, year=year,
                           plan=service.plan(enterprise=ent, year=year),
                           projection=service.projection(enterprise=ent, year=year),
                           result=result, errors=errors, form=form,
                           measures=planner.MEASURES,
                           saved=service.scenarios(enterprise=ent, year=year),
                           can_save=current_user.has_permission("energy.write"))


@bp.route("/plan/<string:uscc>/scenarios.<fmt>")
@auth_required("session")
def export_scenarios(uscc: str, fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    body, mime = service.export_scenarios(enterprise=ent, fmt=fmt)
    return Response(body, mimetype=mime, headers={
        "Content-Disposition": f"attachment; filename=scenarios-{uscc}.{fmt}"})
