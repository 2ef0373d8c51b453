"""POST /api/v1/enterprises/{uscc}/reports: ask for an enterprise-year report (202; a job
builds and signs it). Listing is `app.documents.api` (GET on the same path)."""

from __future__ import annotations

from flask import request, url_for
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import api_error
from app.documents import api as documents_api
from app.identity.scope import current_scope, get_scoped
from app.orgs.models import Enterprise
from reports import service

blp = Blueprint(
    "reports_api",
    __name__,
    url_prefix="/api/v1",
    description="温室气体排放报告 Carbon accounting reports",
)
ALLOWED = ("report.submit", "report.read", "admin.access")


def may_request(user) -> bool:
    return any(user.has_permission(p) for p in ALLOWED)


@blp.route("/enterprises/<string:uscc>/reports", methods=["POST"])
@auth_required("token", "session")
def request_report(uscc: str):
    """`{"year": 2025}` -> 202 `{"id", "status", "url", "verify_url"}`."""
    if not may_request(current_user):
        return api_error(403, "您没有生成报告的权限", code="forbidden")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return api_error(
            400, "请求体必须是 JSON 对象", code="invalid", fields={"body": "请求体必须是 JSON 对象"}
        )
    year = body.get("year")
    if isinstance(year, str) and year.isdigit():
        year = int(year)
    if not isinstance(year, int) or isinstance(year, bool):
        return api_error(
            422,
            "年份格式不正确",
            code="invalid",
            fields={"year": "年份应为 1990–2100 之间的四位数字"},
        )
    ent = get_scoped(Enterprise, uscc, by="uscc", scope=current_scope())
    if ent is None:
        return documents_api.refuse("enterprise", uscc)
    try:
        doc = service.request_report(enterprise=ent, year=year, trigger="manual", user=current_user)
    except service.ReportError as exc:
        return api_error(422, exc.message, code="invalid", fields={exc.field: exc.message})
    return {
        "id": doc.id,
        "status": doc.status,
        "url": url_for("documents_api.get_document", document_id=doc.id),
        "page": url_for("documents.show", document_id=doc.id),
        "verify_url": url_for("documents.verify", document_id=doc.id),
    }, 202
