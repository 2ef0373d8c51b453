"""Trading pages (thin): project registry (scoped), account holdings, public serial check."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_security import auth_required

from app.extensions import db
from app.identity.scope import current_scope, scoped_select
from app.trading import ledger, methodologies, monitoring, service
from app.trading.models import ACCOUNT_KINDS, Account

bp = Blueprint("trading", __name__)


@bp.route("/trading/projects")
@auth_required("session")
def projects():
    rows = [service.to_dict(p) for p in service.list(scope=current_scope())]
    names = {m["code"]: m["name"] for m in methodologies.list_all()}
    accounts = db.session.scalars(scoped_select(Account).order_by(Account.code)).all()
    balances = {a.id: ledger.balance(account_id=a.id) for a in accounts}
    return render_template("trading/projects.html", projects=rows, methodology_names=names,
                           accounts=accounts, balances=balances, kinds=ACCOUNT_KINDS)


@bp.route("/assets/serials")
def serial_check():
    """Public (6.3a 碳资产核查服务): anyone can check a serial number's status."""
    serial = (request.args.get("serial") or "").strip()
    found = ledger.serial_status(serial) if serial else None
    status = 404 if serial and found is None else 200
    return render_template("trading/serial.html", serial=serial, found=found), status




def _month_range():
    """?start=&end= (YYYY-MM); a window that cannot be read shows the last 12 months."""
    try:
        return monitoring.window(start=request.args.get("start"), end=request.args.get("end"))
    except monitoring.WindowError:
        return monitoring.window(start=None, end=None)


@bp.route("/trading/projects/<string:code>")
@auth_required("session")
def project(code):
    """Owner's view: monthly monitoring table and chart, exports, monitoring reports."""
    import json

    from flask import abort

    from app.identity.scope import get_scoped
    from app.trading.models import REPORT_STATUSES, MonitoringReport, Project

    p = get_scoped(Project, code, by="code")
    if p is None:
        abort(404)
    months = _month_range()
    view = monitoring.project_view(p, months)
    reports = db.session.scalars(scoped_select(MonitoringReport).where(
        MonitoringReport.project_id == p.id).order_by(MonitoringReport.period_start)).all()
    q = f"start={months[0]:%Y-%m}&end={months[-1]:%Y-%m}"
    return render_template("trading/project.html", project=service.to_dict(p), view=view,
                           reports=reports, query=q, statuses=REPORT_STATUSES,
                           chart_json=json.dumps(view["months"], ensure_ascii=False))


@bp.route("/trading/monitoring")
@auth_required("session")
def region_monitoring():
    """Government view: projects in the caller's scope, monthly totals, anomalies."""
    import json

    from app.trading.models import Project

    months = _month_range()
    projects = db.session.scalars(scoped_select(Project).order_by(Project.code)).all()
    view = monitoring.region_view(projects, months)
    q = f"start={months[0]:%Y-%m}&end={months[-1]:%Y-%m}"
    return render_template("trading/monitoring.html", view=view, query=q,
                           chart_json=json.dumps(view["totals"], ensure_ascii=False))
