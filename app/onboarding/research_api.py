"""/api/v1/research: research institutes' data requests and their de-identified exports
(R-6.5.1). An institution sees only its own requests (404 for any other); the platform
administrator sees and decides all."""

from __future__ import annotations

import json

from flask import Response
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import api_error
from app.identity.scope import current_scope
from app.onboarding import research, research_flow, research_models
from app.onboarding.api import _body, _error
from app.onboarding.service import ApplicationError

blp = Blueprint("research_api", __name__, url_prefix="/api/v1/research",
                description="科研数据申请 Research data requests (R-6.5.1)")


def _found(uid: str):
    return research.get(uid=uid, scope=current_scope())


def _missing():
    return api_error(404, "数据申请不存在或不在您的数据范围内", code="not_found")


@blp.route("/requests", methods=["POST"])
@auth_required("token", "session")
def create_request():
    """{"purpose", "indicators": ["co2", "energy", "value_added", "intensity"], "regions":
    [GB/T 2260], "industries": [GB/T 4754 divisions] (optional), "region_level":
    "province"|"city"|"county", "period_from": "2025-01", "period_to": "2025-12"}."""
    if not current_user.has_permission("research.request"):
        return api_error(403, "只有科研机构成员可以提交数据申请", code="forbidden")
    try:
        req = research.create(data=_body(), scope=current_scope(), user=current_user)
    except ApplicationError as exc:
        return _error(exc)
    return research.as_json(req), 201


@blp.route("/requests", methods=["GET"])
@auth_required("token", "session")
def list_requests():
    return {"items": [research.as_json(r) for r in research.list_(scope=current_scope())]}


@blp.route("/requests/<string:uid>", methods=["GET"])
@auth_required("token", "session")
def get_request(uid: str):
    req = _found(uid)
    if req is None:
        return _missing()
    return research.as_json(req, research.get_export(req=req))


@blp.route("/requests/<string:uid>/decision", methods=["POST"])
@auth_required("token", "session")
def decide_request(uid: str):
    """{"decision": "approve"|"return"|"reject", "reason"}; approval starts the export job."""
    if not current_user.has_permission("users.manage"):
        return api_error(403, "只有平台管理员可以审批数据申请", code="forbidden")
    req = _found(uid)
    if req is None:
        return _missing()
    try:
        data = _body()
        research_flow.decide(req=req, decision=data.get("decision") or "",
                             reason=data.get("reason"), user=current_user)
    except ApplicationError as exc:
        return _error(exc)
    return research.as_json(req)


@blp.route("/requests/<string:uid>/resubmit", methods=["POST"])
@auth_required("token", "session")
def resubmit_request(uid: str):
    if not current_user.has_permission("research.request"):
        return api_error(403, "只有科研机构成员可以修改数据申请", code="forbidden")
    req = _found(uid)
    if req is None:
        return _missing()
    try:
        research_flow.resubmit(req=req, data=_body(), user=current_user)
    except ApplicationError as exc:
        return _error(exc)
    return research.as_json(req)


def _export(uid: str):
    """(request, export, None), or (None, None, the refusal: 404 / 409 not built yet)."""
    req = _found(uid)
    if req is None:
        return None, None, _missing()
    export = research.get_export(req=req)
    if export is None:
        return req, None, api_error(409, "导出尚未生成（申请未批准或仍在生成中）",
                                    code="not_ready")
    return req, export, None


@blp.route("/requests/<string:uid>/export", methods=["GET"])
@auth_required("token", "session")
def get_export(uid: str):
    """The aggregated cells; withheld cells carry no figures, only the rule that withheld
    them. 409 while the export is not built yet."""
    req, export, refused = _export(uid)
    if refused is not None:
        return refused
    return {"request": research.as_json(req, export), **json.loads(export.body)}


@blp.route("/requests/<string:uid>/export.csv", methods=["GET"])
@auth_required("token", "session")
def get_export_csv(uid: str):
    req, export, refused = _export(uid)
    if refused is not None:
        return refused
    data = research.export_csv(req=req, export=export)
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="research-{req.uid}.csv"'})


@blp.route("/models", methods=["POST"])
@auth_required("token", "session")
def create_model():
    """{"name", "parameters": {"30": {"a": 0, "b": 0.85}, "*": {...}}, "region": GB/T 2260,
    "period_from": "2025-01", "period_to": "2025-12"}: registered and run as a job."""
    try:
        model = research_models.create(data=_body(), scope=current_scope(), user=current_user)
    except ApplicationError as exc:
        return _error(exc)
    return research_models.as_json(model), 201


@blp.route("/models", methods=["GET"])
@auth_required("token", "session")
def list_models():
    return {"items": [research_models.as_json(m)
                      for m in research_models.list_(scope=current_scope())]}


@blp.route("/models/<string:uid>", methods=["GET"])
@auth_required("token", "session")
def get_model(uid: str):
    model = research_models.get(uid=uid, scope=current_scope())
    if model is None:
        return api_error(404, "模型不存在或不在您的数据范围内", code="not_found")
    return research_models.as_json(model)
