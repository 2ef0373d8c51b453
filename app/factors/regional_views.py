"""Regional pages: networks, flow map, nodal intensities with fuel split, comparison with
the official provincial factors, a try-it-yourself simulation; the estimates page."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user
from sqlalchemy import select

from app.extensions import db
from app.factors import checks as est_checks
from app.factors import estimates as est
from app.factors import regional
from app.factors.flow import NetworkError
from app.factors.models import RegionalNetwork
from app.factors.network import simulate
from app.factors.views import bp, require_manage
from app.identity.scope import current_scope
from app.orgs.models import Enterprise

EXAMPLE = {
    "nodes": [
        {"id": "A", "generation": [{"source": "coal", "mwh": 100, "intensity": 0.9}]},
        {"id": "B", "generation": [{"source": "non_fossil", "mwh": 50, "intensity": 0}]},
        {"id": "C", "generation": [{"source": "gas", "mwh": 20, "intensity": 0.4}]},
    ],
    "flows": [{"from": "A", "to": "B", "mwh": 40}, {"from": "B", "to": "C", "mwh": 30}],
}


@bp.route("/factors/regional", methods=["GET", "POST"])
@auth_required("session")
def regional_index():
    """The stored networks; managers upload a new one (CSV pair or one XLSX)."""
    errors = None
    if request.method == "POST":
        require_manage("network_import", request.form.get("code", ""))
        errors = _import_from_form()
        if errors is None:
            return redirect(url_for("factors.regional_index"))
    return render_template("factors/regional_index.html", networks=regional.get_all(),
                           errors=errors,
                           can_manage=current_user.has_permission("factors.manage")), \
        (422 if errors else 200)


def _import_from_form() -> dict | None:
    form, files = request.form, request.files
    errors: dict[str, str] = {}
    code, title = form.get("code", "").strip(), form.get("title", "").strip()
    year = form.get("year", type=int)
    if not code:
        errors["code"] = "请填写数据集代码"
    if not title:
        errors["title"] = "请填写名称"
    if not year or not 2000 <= year <= 2100:
        errors["year"] = "年份无效"
    gen = files.get("generation")
    if not gen or not gen.filename:
        errors["generation"] = "请上传发电结构文件（CSV 或 XLSX）"
    if errors:
        return errors
    try:
        data = gen.read()
        if gen.filename.lower().endswith((".xlsx", ".xlsm")):
            payload, names = regional.payload_from_rows(
                regional._rows_xlsx(data, "generation"), regional._rows_xlsx(data, "exchange"))
        else:
            ex = files.get("exchange")
            payload, names = regional.payload_from_rows(
                regional._rows_csv(data),
                regional._rows_csv(ex.read()) if ex and ex.filename else [])
        net = regional.create(code=code, title=title, year=year, payload=payload, names=names,
                              source=form.get("source") or None, actor=current_user)
    except NetworkError as exc:
        db.session.rollback()
        return exc.fields
    except ValueError as exc:  # unreadable file
        db.session.rollback()
        return {"generation": f"文件无法读取：{exc}"}
    flash(f"已导入并模拟 {net.title} v{net.version}", "success")
    return None


@bp.route("/factors/regional/<int:network_id>")
@auth_required("session")
def network(network_id: int):
    net = db.session.get(RegionalNetwork, network_id) or abort(404)
    return render_template("factors/network.html", net=net,
                           compare=regional.compare_official(net),
                           accounted=regional.accounted_beside(net, current_scope()),
                           checks=est_checks.for_network(network_id=net.id),
                           verify=est_checks.verify,
                           can_manage=current_user.has_permission("factors.manage"))


@bp.route("/factors/regional/<int:network_id>/check", methods=["POST"])
@auth_required("session")
def network_check(network_id: int):
    from app.workflow.errors import WorkflowError

    net = db.session.get(RegionalNetwork, network_id) or abort(404)
    require_manage("check", f"network:{net.id}")
    scope = current_scope()
    try:
        inst = est_checks.start_check(user=current_user, network=net,
                                      tolerance_pct=request.form.get("tolerance_pct"),
                                      body_code=(request.form.get("body_code") or "").strip(),
                                      region_code=scope.region[0] if scope.region else None)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("factors.network", network_id=net.id))
    flash(f"已提交第三方核验：{inst.title}", "success")
    return redirect(url_for("workflow.instance_page", instance_id=inst.id))


@bp.route("/factors/regional/simulate", methods=["GET", "POST"])
@auth_required("session")
def simulate_page():
    """Any signed-in user: paste a network (JSON) or upload the two CSV files; nothing is
    stored and no tenant data is read."""
    text = json.dumps(EXAMPLE, ensure_ascii=False, indent=1)
    result, errors = None, None
    if request.method == "POST":
        try:
            gen = request.files.get("generation")
            if gen and gen.filename:
                ex = request.files.get("exchange")
                payload, names = regional.payload_from_rows(
                    regional._rows_csv(gen.read()),
                    regional._rows_csv(ex.read()) if ex and ex.filename else [])
                try:
                    result = simulate(payload)
                except NetworkError as exc:
                    raise regional._row_errors(payload, exc) from None
                for node in result["nodes"]:
                    node["name"] = names.get(node["id"], node["id"])
            else:
                text = request.form.get("network", "")
                try:
                    payload = json.loads(text)
                except ValueError as exc:
                    raise NetworkError({"network": f"不是有效的 JSON：{exc}"}) from None
                result = simulate(payload)
        except NetworkError as exc:
            errors = exc.fields
    return render_template("factors/simulate.html", text=text, result=result,
                           errors=errors), (422 if errors else 200)


def _estimate_region() -> tuple[str, int]:
    scope = current_scope()
    code = request.values.get("region") or (scope.region[0] if scope.region else "330000")
    if not scope.covers_region(code):
        abort(404)
    year = request.values.get("year", type=int) or 2024
    return code, year


@bp.route("/factors/estimates")
@auth_required("session")
def estimates():
    """A region's CO2: accounted beside estimated from electricity, never silently mixed."""
    if not current_user.has_permission("monitor.read"):
        abort(403)
    code, year = _estimate_region()
    figures = est.region_figures(region_code=code, year=year, scope=current_scope())
    ents = {e.id: e for e in db.session.scalars(select(Enterprise).where(
        Enterprise.id.in_({r.enterprise_id for r in figures["rows"]})))}
    return render_template("factors/estimates.html", f=figures, ents=ents,
                           can_manage=current_user.has_permission("factors.manage"))


@bp.route("/factors/estimates/run", methods=["POST"])
@auth_required("session")
def estimates_run():
    code, year = _estimate_region()
    require_manage("estimate", code)
    s = est.estimate(region=code, year=year, actor=current_user)
    flash(f"已估算 {s['estimated']} 个企业月（{s['enterprises']} 家企业）；"
          f"无因子且无可比企业：{len(s['without_factor'])} 家", "success")
    return redirect(url_for("factors.estimates", region=code, year=year))


@bp.route("/factors/estimates/setting", methods=["POST"])
@auth_required("session")
def estimates_setting():
    code, year = _estimate_region()
    require_manage("estimation_setting", code)
    include = request.form.get("include") == "1"
    est.set_setting(region_code=code, include=include, actor=current_user)
    flash("本地区统计口径已改为" + ("计入电碳因子估算" if include else "仅 GB/T 32150 核算"),
          "success")
    return redirect(url_for("factors.estimates", region=code, year=year))
