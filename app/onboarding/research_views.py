"""Pages of the research workspace: the institution's data requests with a new-request form
and its exports; the platform administrator's decisions on the same page. Thin: the
research service decides and scopes."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user

from app.identity.scope import current_scope
from app.onboarding import research, research_flow, research_models
from app.onboarding.service import ApplicationError

bp = Blueprint("research", __name__, url_prefix="/research")


def _context(**extra):
    return {"indicators": research.INDICATORS, "levels": research.LEVELS, **extra}


@bp.route("/", methods=["GET", "POST"])
@auth_required("session")
def requests_page():
    may_request = current_user.has_permission("research.request")
    may_decide = current_user.has_permission("users.manage")
    if not (may_request or may_decide):
        abort(403)
    data, errors = {}, {}
    if request.method == "POST":
        if not may_request:
            abort(403)
        data = {"purpose": request.form.get("purpose", ""),
                "indicators": request.form.getlist("indicators"),
                "regions": request.form.get("regions", ""),
                "industries": request.form.get("industries", ""),
                "region_level": request.form.get("region_level", "city"),
                "period_from": request.form.get("period_from", ""),
                "period_to": request.form.get("period_to", "")}
        try:
            research.create(data=data, scope=current_scope(), user=current_user)
        except ApplicationError as exc:
            errors = exc.fields
            flash(exc.message, "danger")
        else:
            flash("数据申请已提交，等待平台审批", "success")
            return redirect(url_for("research.requests_page"))
    return _page(may_request=may_request, may_decide=may_decide, data=data, errors=errors)


def _page(*, may_request: bool, may_decide: bool, data: dict, errors: dict,
          model_data: dict | None = None, model_errors: dict | None = None):
    items = [(r, research.get_export(req=r)) for r in research.list_(scope=current_scope())]
    models = [research_models.as_json(m) for m in research_models.list_(scope=current_scope())]
    status = 422 if errors or model_errors else 200
    return render_template("onboarding/research.html", **_context(
        items=items, models=models, may_request=may_request, may_decide=may_decide,
        data=data, errors=errors, model_data=model_data or {},
        model_errors=model_errors or {})), status


@bp.route("/models", methods=["POST"])
@auth_required("session")
def register_model():
    if not current_user.has_permission("research.request"):
        abort(403)
    data = {k: request.form.get(k, "") for k in ("name", "parameters", "region",
                                                 "period_from", "period_to")}
    try:
        research_models.create(data=data, scope=current_scope(), user=current_user)
    except ApplicationError as exc:
        flash(exc.message, "danger")
        return _page(may_request=True, may_decide=current_user.has_permission("users.manage"),
                     data={}, errors={}, model_data=data, model_errors=exc.fields)
    flash("模型已登记，平台正在用本地区数据试算", "success")
    return redirect(url_for("research.requests_page") + "#models")


@bp.route("/<string:uid>/decision", methods=["POST"])
@auth_required("session")
def decide(uid: str):
    if not current_user.has_permission("users.manage"):
        abort(403)
    req = research.get(uid=uid, scope=current_scope())
    if req is None:
        abort(404)
    try:
        research_flow.decide(req=req, decision=request.form.get("decision", ""),
                             reason=request.form.get("reason"), user=current_user)
    except ApplicationError as exc:
        flash(exc.message + "：" + "；".join(exc.fields.values()), "danger")
        return redirect(url_for("research.requests_page")), 303
    flash("已审批", "success")
    return redirect(url_for("research.requests_page"))


@bp.route("/<string:uid>/export")
@auth_required("session")
def export(uid: str):
    req = research.get(uid=uid, scope=current_scope())
    if req is None:
        abort(404)
    built = research.get_export(req=req)
    if built is None:
        abort(404)
    return render_template("onboarding/research_export.html",
                           **_context(req=req, export=built, body=json.loads(built.body)))


@bp.route("/<string:uid>/export.csv")
@auth_required("session")
def export_csv(uid: str):
    req = research.get(uid=uid, scope=current_scope())
    built = research.get_export(req=req) if req is not None else None
    if built is None:
        abort(404)
    return Response(research.export_csv(req=req, export=built), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="research-{req.uid}.csv"'})
