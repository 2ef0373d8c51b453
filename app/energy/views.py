"""Pages: monthly energy records (list, form with field-level errors), the factor library."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user, permissions_accepted
from sqlalchemy import func, select

from app.energy import records, service
from app.energy.models import FLOWS, EnergyRecord
from app.extensions import db
from app.identity.scope import current_scope, get_scoped_or_404, scoped
from app.orgs.models import Enterprise

bp = Blueprint("energy", __name__, url_prefix="/energy")
LINE_FIELDS = ("item", "flow", "amount", "unit", "ncv", "carbon_content", "oxidation_rate",
               "factor_value", "note")
FORM_ROWS = 8


FACTORS_PER_PAGE = 50


def _next_missing(ent: Enterprise | None) -> tuple[int, int]:
    """The month a new record defaults to: the first month not yet filed in the last twelve
    (the previous month when all are filed or the enterprise is not known)."""
    today = date.today()
    months = []
    y, m = today.year, today.month
    for _ in range(12):
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        months.append((y, m))
    if ent is None:
        return months[0]
    filed = set(db.session.execute(select(EnergyRecord.year, EnergyRecord.month).where(
        EnergyRecord.enterprise_id == ent.id, EnergyRecord.period >= months[-1][0] * 100
        + months[-1][1])).all())
    return next((p for p in reversed(months) if p not in filed), months[0])


def _enterprises() -> list[Enterprise]:
    return list(db.session.scalars(scoped(select(Enterprise), Enterprise).order_by(
        Enterprise.name).limit(500)))


def _form_data() -> tuple[dict, list[int]]:
    """The posted form as a record dict; `rows[k]` = form row of the k-th non-empty line."""
    f = request.form
    data = {k: f.get(k) for k in ("uscc", "year", "month", "gross_output", "value_added",
                                  "note")}
    lines, rows = [], []
    try:  # the number of form rows (rows are added in the browser), bounded
        n_rows = min(max(int(f.get("rows", FORM_ROWS)), 0), 200)
    except ValueError:
        n_rows = FORM_ROWS
    for i in range(n_rows):
        line = {k: f.get(f"line-{i}-{k}", "").strip() or None for k in LINE_FIELDS}
        if not line["item"] and not line["amount"]:
            continue
        lines.append(line)
        rows.append(i)
    data["lines"] = lines
    return data, rows


def _row_errors(errors: dict, rows: list[int]) -> dict:
    out = {}
    for key, msg in errors.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit():
            out[f"line-{rows[int(parts[1])]}-{parts[2]}"] = msg
        else:
            out[key] = msg
    return out


def _render_form(data: dict, errors: dict, record: EnergyRecord | None = None):
    lines = list(data.get("lines") or [])
    rows = max(FORM_ROWS, len(lines) + 2)
    return render_template(
        "energy/record_form.html", data=data, errors=errors, record=record,
        lines=lines + [{}] * (rows - len(lines)), rows=rows, flows=FLOWS,
        energy_types=service.get_energy_types(), processes=service.process_factors(),
        enterprises=_enterprises(), today=date.today()), (422 if errors else 200)


@bp.route("/records", endpoint="records")
@auth_required("session")
def records_page():
    year = request.args.get("year", type=int)
    uscc = request.args.get("uscc") or None
    stmt = records.get_all(scope=current_scope(), uscc=uscc, year=year).limit(300)
    return render_template("energy/records.html", items=db.session.scalars(stmt).all(),
                           year=year, uscc=uscc, enterprises=_enterprises())


@bp.route("/records/new", methods=["GET", "POST"])
@auth_required("session")
@permissions_accepted("energy.write", "admin.access")
def new_record():
    if request.method == "GET":
        ents = _enterprises()
        y, m = _next_missing(ents[0] if len(ents) == 1 else None)
        y = request.args.get("year", type=int) or y
        m = request.args.get("month", type=int) or m
        return _render_form({"uscc": ents[0].uscc if len(ents) == 1 else "", "year": y,
                             "month": m if 1 <= m <= 12 else 1}, {})
    data, rows = _form_data()
    try:
        rec = records.create(data=data, scope=current_scope(), source="form",
                             user_email=current_user.email)
    except records.RecordError as exc:
        return _render_form(data, _row_errors(exc.fields, rows))
    flash(f"已保存 {rec.enterprise.name} {rec.period_label} 的数据，碳账户已更新", "success")
    return redirect(url_for("accounting.account", uscc=rec.enterprise.uscc, year=rec.year,
                            month=rec.month))


@bp.route("/records/<int:record_id>/edit", methods=["GET", "POST"])
@auth_required("session")
@permissions_accepted("energy.write", "admin.access")
def edit_record(record_id: int):
    rec = get_scoped_or_404(EnergyRecord, record_id)
    if request.method == "GET":
        data = {"uscc": rec.enterprise.uscc, "year": rec.year, "month": rec.month,
                "gross_output": rec.gross_output, "value_added": rec.value_added,
                "note": rec.note,
                "lines": [{k: getattr(ln, k) for k in LINE_FIELDS} for ln in rec.lines]}
        return _render_form(data, {}, rec)
    data, rows = _form_data()
    try:
        records.update(record=rec, data=data, scope=current_scope(),
                       user_email=current_user.email)
    except records.RecordError as exc:
        return _render_form({**data, "uscc": rec.enterprise.uscc, "year": rec.year,
                             "month": rec.month}, _row_errors(exc.fields, rows), rec)
    flash(f"已更新 {rec.period_label} 的数据（第 {rec.revision} 版），碳账户已重新核算", "success")
    return redirect(url_for("accounting.account", uscc=rec.enterprise.uscc, year=rec.year,
                            month=rec.month))


@bp.route("/factors")
@auth_required("session")
def factors():
    kind = request.args.get("kind") or None
    q = request.args.get("q") or None
    status = request.args.get("status", "active") or None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = service.get_all(kind=kind, q=q, status=status)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    pages = max((total + FACTORS_PER_PAGE - 1) // FACTORS_PER_PAGE, 1)
    page = min(page, pages)
    rows = db.session.scalars(stmt.limit(FACTORS_PER_PAGE)
                              .offset((page - 1) * FACTORS_PER_PAGE)).all()
    return render_template("energy/factors.html", rows=rows, kind=kind, q=q, status=status,
                           page=page, pages=pages, total=total,
                           types=service.get_energy_types(), counts=service.factor_counts())


@bp.route("/factors/<string:code>", methods=["GET", "POST"])
@auth_required("session")
def factor(code: str):
    versions = service.history(code=code)
    if not versions:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not current_user.has_permission("admin.access"):
            abort(403)
        values = {}
        for key in ("value", "ncv", "carbon_content", "oxidation_rate"):
            raw = request.form.get(key)
            if raw:
                values[key] = records.parse_decimal(raw, key, errors, "数值", positive=True)
        if not errors:
            try:
                row = service.supersede(code=code, source=request.form.get("source", ""),
                                        reason=request.form.get("reason", ""),
                                        user_email=current_user.email, **values)
                flash(f"已发布 {code} 第 {row.version} 版；使用旧版本的核算结果将在后台重新计算，"
                      "旧结果保留为历史", "success")
                return redirect(url_for("energy.factor", code=code))
            except service.FactorError as exc:
                errors[exc.field] = exc.message
    return render_template("energy/factor.html", versions=versions, current=next(
        (v for v in versions if v.status == "active"), None), errors=errors,
        form=request.form), (422 if errors else 200)
