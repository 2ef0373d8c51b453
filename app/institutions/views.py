"""Pages: the public institution's workspace (monthly energy form and spreadsheet import,
scope 1 / 2 inventory with derivations, target, disclosure), the government dashboard and
the public disclosure pages (no login). Thin: the rules live in the services."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user

from app.energy import service as energy
from app.identity.scope import current_scope
from app.institutions import access, dashboard, disclosure, targets
from app.institutions import service as institutions
from app.institutions.inventory import inventory
from app.institutions.models import BASES, METRICS
from app.institutions.service import ALLOWED_FLOWS, EntryError

bp = Blueprint("pubinst", __name__)
LINE_FIELDS = ("item", "flow", "amount", "unit", "ncv", "carbon_content", "oxidation_rate")
FORM_ROWS = 5
MAX_UPLOAD = 2 * 1024 * 1024


def _readable_or_404(code: str):
    inst = access.readable(current_user, code)
    if inst is None:
        abort(404)
    return inst


def _writable_or_403(code: str):
    inst = _readable_or_404(code)
    if not access.writable(current_user, inst):
        abort(403)
    return inst


@bp.route("/institutions/")
@auth_required("session")
def index():
    if access.supervisor(current_user):
        return redirect(url_for("pubinst.dashboard_page"))
    mine = (institutions.own(scope=current_scope())
            if current_user.has_permission("institution.energy") else [])
    with_data = [i for i in mine if institutions.years(institution=i)]
    if len(mine) == 1 or len(with_data) == 1:  # an account of one institution (with data)
        return redirect(url_for("pubinst.overview", code=(with_data or mine)[0].code))
    if not mine:
        abort(404)
    return render_template("institutions/list.html", items=mine)


def _int_arg(name: str) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/institutions/<string:code>")
@auth_required("session")
def overview(code: str):
    inst = _readable_or_404(code)
    years = institutions.years(institution=inst)
    year = _int_arg("year")
    if year not in years:
        year = years[-1] if years else None
    inv = inventory(institution=inst, year=year) if year else None
    target = targets.get(institution=inst)
    return render_template(
        "institutions/overview.html", inst=inst, years=years, year=year, inv=inv,
        target=target, progress=targets.progress(institution=inst, target=target),
        labels=targets.STATUS_LABELS, metrics=METRICS, bases=BASES,
        profiles=sorted(targets.profiles(institution=inst).values(), key=lambda p: p.year),
        disclosures=disclosure.get_all(institution=inst),
        may_write=access.writable(current_user, inst), today=date.today(),
        target_errors={}, target_data={})


def _form_data() -> tuple[dict, int]:
    f = request.form
    try:
        n_rows = min(max(int(f.get("rows", FORM_ROWS)), 0), 50)
    except ValueError:
        n_rows = FORM_ROWS
    lines = []
    for i in range(n_rows):
        ln = {k: (f.get(f"line-{i}-{k}") or "").strip() or None for k in LINE_FIELDS}
        if ln["item"] or ln["amount"]:
            lines.append(ln)
    return {"year": f.get("year"), "month": f.get("month"), "lines": lines}, n_rows


def _energy_form(inst, data: dict, errors: dict, rows: int, status: int = 200):
    types = energy.get_energy_types()
    lines = list(data.get("lines") or [])
    while len(lines) < rows:
        lines.append({})
    # line errors keyed "lines.3.amount" -> "line-3-amount" (the form's input names)
    shown = {("line-" + k[6:].replace(".", "-", 1) if k.startswith("lines.") else k): v
             for k, v in errors.items()}
    return render_template("institutions/energy_form.html", inst=inst, data=data,
                           lines=lines, rows=len(lines), errors=shown, types=types,
                           flows=ALLOWED_FLOWS), status


@bp.route("/institutions/<string:code>/energy", methods=["GET", "POST"])
@auth_required("session")
def energy_form(code: str):
    inst = _writable_or_403(code)
    if request.method == "GET":
        year, month = _int_arg("year"), _int_arg("month")
        data = {"year": year or "", "month": month or "", "lines": []}
        if year and month:
            data["lines"] = [{"item": r.item, "flow": (r.derivation or {}).get("flow"),
                              "amount": r.amount, "unit": r.unit}
                             for r in institutions.month_lines(institution=inst, year=year,
                                                               month=month)]
        return _energy_form(inst, data, {}, max(FORM_ROWS, len(data["lines"]) + 1))
    data, rows = _form_data()
    try:
        institutions.save_months(institution=inst, items=[data], source="form",
                                 user=current_user, label="")
    except EntryError as exc:
        return _energy_form(inst, data, exc.fields, rows, 422)
    flash(f"{data['year']} 年 {data['month']} 月能耗数据已保存并核算", "success")
    return redirect(url_for("pubinst.overview", code=inst.code, year=data["year"]))


@bp.route("/institutions/<string:code>/import", methods=["POST"])
@auth_required("session")
def import_file(code: str):
    """CSV (UTF-8) or Excel: one energy line per row, columns 年份/year, 月份/month,
    品种/item, 流向/flow, 数量/amount, 单位/unit (optional 低位发热量, 单位热值含碳量,
    碳氧化率). All rows or nothing."""
    from app.energy.importer import read_rows

    inst = _writable_or_403(code)
    upload = request.files.get("file")
    errors: dict[str, str] = {}
    if upload is None or not upload.filename:
        errors = {"file": "请选择要导入的文件（CSV 或 Excel）"}
    else:
        suffix = Path(upload.filename).suffix.lower()
        blob = upload.read(MAX_UPLOAD + 1)
        if suffix not in (".csv", ".xlsx"):
            errors = {"file": "只支持 CSV（UTF-8）或 Excel（.xlsx）文件"}
        elif len(blob) > MAX_UPLOAD:
            errors = {"file": f"文件不能超过 {MAX_UPLOAD // 1024 // 1024} MB"}
        else:
            with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
                tmp.write(blob)
                tmp.flush()
                try:
                    rows = read_rows(Path(tmp.name))
                except Exception:  # a corrupt workbook or text that is not UTF-8
                    rows = None
            if rows is None:
                errors = {"file": "文件无法读取：请使用 UTF-8 编码的 CSV 或 .xlsx 文件"}
            else:
                errors = _import_rows(inst, rows)
    if errors:
        return render_template("institutions/import_errors.html", inst=inst,
                               errors=errors), 422
    return redirect(url_for("pubinst.overview", code=inst.code))


def _import_rows(inst, rows: list[dict]) -> dict[str, str]:
    """Group rows into months; errors keyed by file row ("第 3 行 数量")."""
    months: dict[tuple, dict] = {}
    where: dict[tuple, list[int]] = {}
    for n, row in enumerate(rows, start=2):
        key = (row.get("year", ""), row.get("month", ""))
        months.setdefault(key, {"year": key[0], "month": key[1], "lines": []})["lines"].append(
            {c: row.get(c) or None for c in LINE_FIELDS})
        where.setdefault(key, []).append(n)
    if not months:
        return {"file": "文件中没有数据行"}
    keys = list(months)
    try:
        periods = institutions.save_months(institution=inst, items=[months[k] for k in keys],
                                           source="import", user=current_user)
    except EntryError as exc:
        out = {}
        for path, msg in exc.fields.items():
            parts = path.split(".")
            if len(parts) >= 4 and parts[2] == "lines" and parts[1].isdigit():
                line_no = where[keys[int(parts[1])]][int(parts[3])]
                out[f"第 {line_no} 行 {parts[-1]}"] = msg
            elif len(parts) >= 3 and parts[1].isdigit():
                out[f"第 {where[keys[int(parts[1])]][0]} 行 {parts[2]}"] = msg
            else:
                out[path] = msg
        return out
    flash(f"已导入 {len(periods)} 个月的能耗数据", "success")
    return {}


@bp.route("/institutions/<string:code>/target", methods=["POST"])
@auth_required("session")
def set_target(code: str):
    inst = _writable_or_403(code)
    data = {k: request.form.get(k) for k in ("metric", "basis", "base_year", "target_year",
                                             "reduction_pct")}
    try:
        targets.set_target(institution=inst, data=data, user=current_user)
    except EntryError as exc:
        for msg in exc.fields.values():
            flash(msg, "error")
        return redirect(url_for("pubinst.overview", code=inst.code)), 303
    flash("减排目标已保存", "success")
    return redirect(url_for("pubinst.overview", code=inst.code))


@bp.route("/institutions/<string:code>/profile", methods=["POST"])
@auth_required("session")
def set_profile(code: str):
    inst = _writable_or_403(code)
    data = {k: request.form.get(k) for k in ("persons", "floor_area")}
    try:
        targets.set_profile(institution=inst, year=request.form.get("year"), data=data,
                            user=current_user)
    except EntryError as exc:
        for msg in exc.fields.values():
            flash(msg, "error")
        return redirect(url_for("pubinst.overview", code=inst.code)), 303
    flash("用能人数与建筑面积已保存", "success")
    return redirect(url_for("pubinst.overview", code=inst.code))


@bp.route("/institutions/<string:code>/disclosure", methods=["POST"])
@auth_required("session")
def submit_disclosure(code: str):
    from app.workflow import service as workflow
    from app.workflow.errors import WorkflowError

    inst = _writable_or_403(code)
    try:
        workflow.start(model=disclosure.PROCESS,
                       data={"institution": inst.code, "year": request.form.get("year")},
                       user=current_user)
    except WorkflowError as exc:
        flash(exc.message, "error")
        return redirect(url_for("pubinst.overview", code=inst.code)), 303
    flash("已提交公示申请，等待所在地区政府主管部门审核", "success")
    return redirect(url_for("pubinst.overview", code=inst.code))


@bp.route("/institutions/dashboard")
@auth_required("session")
def dashboard_page():
    if not access.supervisor(current_user):
        abort(403)
    data = dashboard.build(scope=current_scope(), year=_int_arg("year"))
    return render_template("institutions/dashboard.html", d=data,
                           labels=targets.STATUS_LABELS, metrics=METRICS, bases=BASES,
                           chart_json=json.dumps(data["chart"], ensure_ascii=False))


@bp.route("/disclosure/institutions/")
def public_list():
    return render_template("institutions/public_list.html",
                           items=disclosure.published_institutions())


@bp.route("/disclosure/institutions/<string:code>")
def public_page(code: str):
    inst, rows = disclosure.published(code=code)
    if inst is None:
        abort(404)
    year = _int_arg("year")
    chosen = next((d for d in rows if d.year == year), rows[0])
    return render_template("institutions/public.html", inst=inst, rows=rows, d=chosen,
                           f=chosen.figures or {}, metrics=METRICS,
                           labels=targets.STATUS_LABELS)
