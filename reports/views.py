"""The "生成报告" form on the documents page: asks for a report, then shows the document's
page (progress while the job runs, then the download link)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_security import auth_required, current_user

from app.documents import api as documents_api
from app.identity.scope import current_scope, get_scoped
from app.orgs.models import Enterprise
from reports import service
from reports.api import may_request

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.route("/request", methods=["POST"])
@auth_required("session")
def request_report():
    if not may_request(current_user):
        abort(403)
    uscc = (request.form.get("enterprise") or "").strip()
    year_raw = (request.form.get("year") or "").strip()
    ent = get_scoped(Enterprise, uscc, by="uscc", scope=current_scope())
    if ent is None:
        documents_api.refuse("enterprise", uscc or "-")
        abort(404)
    back = url_for("documents.index", enterprise=ent.uscc)
    if not (year_raw.isdigit() and len(year_raw) == 4):
        flash("年度：请填写四位数字年份，如 2025", "danger")
        return redirect(back)
    try:
        doc = service.request_report(
            enterprise=ent, year=int(year_raw), trigger="manual", user=current_user
        )
    except service.ReportError as exc:
        flash(exc.message, "danger")
        return redirect(back)
    return redirect(url_for("documents.show", document_id=doc.id))
