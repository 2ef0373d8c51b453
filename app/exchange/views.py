"""Pages: exchange batches (with the rejected-rows spreadsheet), real-time meters per
enterprise, the exchange log (administrators)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flask import Blueprint, Response, abort, render_template, request
from flask_security import auth_required, current_user, permissions_accepted
from sqlalchemy import select

from app.exchange import meters as meter_service
from app.exchange import realtime, service
from app.exchange.models import KIND_LABELS, SOURCES, ExchangeLog
from app.extensions import db
from app.identity.scope import current_scope, get_scoped_or_404, scoped
from app.orgs.models import Enterprise
from app.web.filters import item_name

bp = Blueprint("exchange", __name__, url_prefix="/exchange")
BEIJING = timedelta(hours=8)


@bp.before_request
def _no_nul():
    """A NUL byte in the path or query (PostgreSQL text cannot hold one) is a 400."""
    if any("\x00" in str(v) for v in (request.view_args or {}).values()) or any(
            "\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        abort(400, description="参数不能包含空字符")


@bp.app_template_filter("bj")
def beijing(value: datetime | None) -> str:
    """A naive UTC datetime shown in Beijing time."""
    return (value + BEIJING).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@bp.app_template_filter("reading_num")
def number(value: Decimal | None) -> str:
    if value is None:
        return "—"
    q = Decimal(value).quantize(Decimal("0.001"))
    return f"{q:,}".rstrip("0").rstrip(".") if "." in f"{q}" else f"{q:,}"


@bp.app_template_filter("energy_name")
def energy_name(code: str) -> str:
    """One query per request for every name (a page lists many meters), not one per row."""
    return item_name(code)


def register_nav() -> None:
    from app.web.navigation import NavItem, register

    register(NavItem("exchange.batches", "数据交换", "Data exchange", None))


@bp.route("/batches")
@auth_required("session")
def batches():
    items = service.list_for(user=current_user, scope=current_scope())
    from flask import current_app

    return render_template("exchange/batches.html", items=items, kinds=KIND_LABELS,
                           sources=SOURCES,
                           has_upload="exchange_files.upload" in current_app.view_functions)


@bp.route("/batches/<int:batch_id>")
@auth_required("session")
def batch(batch_id: int):
    b = service.get(batch_id=batch_id, user=current_user, scope=current_scope())
    if b is None:
        abort(404)
    return render_template("exchange/batch.html", b=b, errors=service.row_errors(b),
                           kinds=KIND_LABELS, sources=SOURCES)


@bp.route("/batches/<int:batch_id>/rejected.xlsx")
@auth_required("session")
def batch_xlsx(batch_id: int):
    b = service.get(batch_id=batch_id, user=current_user, scope=current_scope())
    if b is None:
        abort(404)
    return Response(service.rejected_xlsx(b), mimetype=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), headers={
        "Content-Disposition": f"attachment; filename=batch-{b.id}-rejected.xlsx"})


@bp.route("/realtime")
@auth_required("session")
def realtime_index():
    ents = list(db.session.scalars(scoped(select(Enterprise), Enterprise).order_by(
        Enterprise.name).limit(500)))
    return render_template("exchange/realtime_index.html", enterprises=ents)


@bp.route("/realtime/<string:uscc>")
@auth_required("session")
def realtime_page(uscc: str):
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    meters = list(db.session.scalars(meter_service.get_all(scope=current_scope(), uscc=uscc)))
    figures = realtime.latest(meters)
    if request.args.get("partial"):
        return render_template("exchange/_realtime_rows.html", meters=meters, figures=figures)
    return render_template("exchange/realtime.html", ent=ent, meters=meters, figures=figures)


@bp.route("/log")
@auth_required("session")
@permissions_accepted("admin.access")
def exchange_log():
    q = (request.args.get("q") or "").strip()
    stmt = select(ExchangeLog).order_by(ExchangeLog.id.desc()).limit(500)
    if q:
        stmt = stmt.where(ExchangeLog.client.icontains(q, autoescape=True)
                          | ExchangeLog.operation.icontains(q, autoescape=True)
                          | ExchangeLog.status.icontains(q, autoescape=True))
    return render_template("exchange/log.html", items=list(db.session.scalars(stmt)), q=q)
