"""/api/v1 trading monitoring (R-6.3a) and monitoring reports (R-6.3b), on the trading
blueprint: every read narrowed to the caller's scope, every change and refusal audited."""

from __future__ import annotations

from datetime import date

from flask import Response, request
from flask_security import auth_required, current_user, permissions_accepted

from app.api import api_error
from app.audit import service as audit
from app.extensions import db
from app.identity.scope import current_scope, get_scoped_or_404, scoped_select
from app.trading import export, monitoring, quantify
from app.trading.api import blp
from app.trading.models import MonitoringReport, Project
from app.uow import commit


def _months() -> list[date] | tuple[int, str]:
    """?start=YYYY-MM&end=YYYY-MM (default: the last 12 months through last month)."""
    try:
        return monitoring.window(start=request.args.get("start"), end=request.args.get("end"))
    except monitoring.WindowError as exc:
        return api_error(422, str(exc), fields=exc.fields)


def _body() -> dict:
    """The JSON object of the request; anything else (a list, a number, bad JSON) is {}."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _export(rows: list[dict], columns, name: str):
    fmt = request.args.get("format")
    if fmt == "csv":
        return Response(export.to_csv(rows, columns), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    if fmt == "xlsx":
        return Response(export.to_xlsx(rows, columns, title=name),
                        mimetype="application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
    return None


@blp.route("/trading/projects/<string:code>/monitoring")
@auth_required("token", "session")
@blp.response(200)
def project_monitoring(code):
    """Monthly generation, on-grid, own use (MWh), capacity factor, settlement, anomalies;
    `format=csv|xlsx` exports the table."""
    project = get_scoped_or_404(Project, code, by="code")
    month_list = _months()
    if isinstance(month_list, tuple):
        return month_list
    view = monitoring.project_view(project, month_list)
    return _export(view["months"], export.PROJECT_COLUMNS, f"monitoring-{code}") or view


@blp.route("/trading/monitoring")
@auth_required("token", "session")
@blp.response(200)
def region_monitoring():
    """Government view: projects in the caller's scope (optionally `region=` prefix), monthly
    totals and anomalies; `format=csv|xlsx` exports the totals."""
    month_list = _months()
    if isinstance(month_list, tuple):
        return month_list
    stmt = scoped_select(Project).order_by(Project.code)
    if request.args.get("region"):
        stmt = stmt.where(Project.region_code.startswith(request.args["region"]))
    projects = db.session.scalars(stmt).all()
    view = monitoring.region_view(projects, month_list)
    return _export(view["totals"], export.REGION_COLUMNS, "monitoring-region") or view


@blp.route("/trading/settlements", methods=["POST"])
@auth_required("token", "session")
@permissions_accepted("settlements.write", "admin.access")
@blp.response(201)
def post_settlements():
    """Power-system machine clients: `{"items": [{project, month: "YYYY-MM", settled_mwh,
    fee_yuan}]}`; all or nothing; projects outside the client's scope are refused."""
    body = _body()
    from app.exchange.clients import client_name

    source = client_name(current_user) or current_user.email
    try:
        rows = monitoring.record_settlements(items=body.get("items"), scope=current_scope(),
                                             source=source, user=current_user)
    except monitoring.SettlementInvalid as exc:
        db.session.rollback()
        audit.record("trading.settlement.refused", object_type="trading_settlement",
                     user=current_user, summary={"fields": exc.fields, "source": source})
        commit()
        return api_error(422, "数据校验失败", fields=exc.fields)
    commit()
    return {"stored": len(rows)}


def _refused(exc: quantify.QuantifyRefused, project: Project, body: dict):
    db.session.rollback()
    audit.record("trading.report.refused", object_type="trading_project",
                 object_id=project.id, user=current_user,
                 summary={"fields": exc.fields, "request": body})
    commit()
    return api_error(422, "无法计算减排量：" + "；".join(f"{k} {v}" for k, v in
                                                   exc.fields.items()), fields=exc.fields)


@blp.route("/trading/projects/<string:code>/reports")
@auth_required("token", "session")
@blp.response(200)
def list_reports(code):
    project = get_scoped_or_404(Project, code, by="code")
    reports = db.session.scalars(scoped_select(MonitoringReport).where(
        MonitoringReport.project_id == project.id).order_by(MonitoringReport.period_start))
    return [quantify.to_dict(r) for r in reports]


def _date(raw):
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        return raw


@blp.route("/trading/projects/<string:code>/reports", methods=["POST"])
@auth_required("token", "session")
@blp.response(201)
def create_report(code):
    """The owner drafts a monitoring report: `{period_start, period_end, factors?:
    {ef_om, ef_bm, source}, parameters?: {...}}` → the quantified draft (422 names what is
    missing; nothing written)."""
    project = get_scoped_or_404(Project, code, by="code")
    scope = current_scope()
    if not (scope.all or project.enterprise_uscc in scope.enterprise):
        return api_error(403, "只有项目业主可以编制监测报告")
    body = _body()
    try:
        report = quantify.create_report(
            project=project, period_start=_date(body.get("period_start")),
            period_end=_date(body.get("period_end")), user=current_user, **_inputs(body))
    except quantify.QuantifyRefused as exc:
        return _refused(exc, project, body)
    commit()
    return quantify.to_dict(report)


def _inputs(body: dict) -> dict:
    """The optional `factors` and `parameters` objects of a report request (others ignored)."""
    return {k: body[k] if isinstance(body.get(k), dict) else None
            for k in ("factors", "parameters")}


@blp.route("/trading/projects/<string:code>/reports/<int:report_id>")
@auth_required("token", "session")
@blp.response(200)
def get_report(code, report_id):
    project = get_scoped_or_404(Project, code, by="code")
    report = get_scoped_or_404(MonitoringReport, report_id)
    if report.project_id != project.id:
        return api_error(404, "报告不存在")
    return quantify.to_dict(report)


@blp.route("/trading/projects/<string:code>/reports/<int:report_id>/recompute",
           methods=["POST"])
@auth_required("token", "session")
@blp.response(200)
def recompute_report(code, report_id):
    """The owner re-quantifies a draft (new readings or checked factors): `{factors?,
    parameters?}`; a submitted report is frozen (422)."""
    project = get_scoped_or_404(Project, code, by="code")
    report = get_scoped_or_404(MonitoringReport, report_id)
    scope = current_scope()
    if report.project_id != project.id:
        return api_error(404, "报告不存在")
    if not (scope.all or project.enterprise_uscc in scope.enterprise):
        return api_error(403, "只有项目业主可以重新计算监测报告")
    body = _body()
    try:
        quantify.recompute(
            report=report, user=current_user, **_inputs(body))
    except quantify.QuantifyRefused as exc:
        return _refused(exc, project, body)
    commit()
    return quantify.to_dict(report)
