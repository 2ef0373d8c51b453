"""/api/v1/verifications: the verification case for machines (thin; scope as the pages:
another body's verifier gets 404). Statements are documents: /api/v1/documents/{id}/…"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import api_error
from app.verification import evidence, service
from app.workflow.errors import WorkflowError

blp = Blueprint(
    "verification_api",
    __name__,
    url_prefix="/api/v1",
    description="第三方核查 Third-party verification",
)


def _error(exc: WorkflowError):
    return api_error(exc.status, exc.message, code=exc.code, fields=exc.fields)


def _dump(v: Any) -> dict[str, Any]:
    return {
        "id": v.id,
        "case_id": v.instance_id,
        "report_case_id": v.report_instance_id,
        "enterprise_uscc": v.enterprise_uscc,
        "year": v.year,
        "status": v.status,
        "body_code": v.body_code,
        "level": v.level,
        "materiality_pct": v.materiality_pct,
        "sampling": json.loads(v.sampling or "{}"),
        "opinion": v.opinion,
        "conclusion": json.loads(v.verified) if v.verified else None,
        "findings": [
            {
                "id": f.id,
                "requirement": f.requirement,
                "description": f.description,
                "due_date": f.due_date.isoformat(),
                "status": f.status,
                "response": f.response,
                "corrected": f.corrected,
            }
            for f in evidence.findings(v=v)
        ],
        "checks": [
            {"source": c.source, "month": c.month, "status": c.status, "note": c.note}
            for c in evidence.checks(v=v)
        ],
    }


@blp.route("/verifications")
@auth_required("token", "session")
def list_verifications():
    """Verifications within the caller's scope (a verifier: its body's assigned ones)."""
    return {"items": [_dump(v) for v in service.list_for(user=current_user)]}


@blp.route("/verifications/<int:verification_id>")
@auth_required("token", "session")
def get_verification(verification_id: int):
    try:
        return _dump(service.get(verification_id=verification_id, user=current_user))
    except WorkflowError as exc:
        return _error(exc)


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _do(verification_id: int, fn):
    try:
        v = service.get(verification_id=verification_id, user=current_user)
        row = fn(v, _body())
    except WorkflowError as exc:
        return _error(exc)
    return {"id": row.id, "status": row.status}, 201


@blp.route("/verifications/<int:verification_id>/checks", methods=["POST"])
@auth_required("token", "session")
def post_check(verification_id: int):
    """Document review of one source and month: {source, month, status, note}."""
    return _do(
        verification_id,
        lambda v, b: evidence.record_check(
            v=v,
            user=current_user,
            source=str(b.get("source") or ""),
            month=b.get("month"),
            status=str(b.get("status") or ""),
            note=b.get("note"),
        ),
    )


@blp.route("/verifications/<int:verification_id>/findings", methods=["POST"])
@auth_required("token", "session")
def post_finding(verification_id: int):
    """A non-conformity: {requirement, description, due_date}."""
    return _do(
        verification_id,
        lambda v, b: evidence.raise_finding(
            v=v,
            user=current_user,
            requirement=str(b.get("requirement") or ""),
            description=str(b.get("description") or ""),
            due_date=b.get("due_date"),
        ),
    )


@blp.route(
    "/verifications/<int:verification_id>/findings/<int:finding_id>/answer", methods=["POST"]
)
@auth_required("token", "session")
def post_answer(verification_id: int, finding_id: int):
    """The enterprise's answer: {response, corrected}."""
    return _do(
        verification_id,
        lambda v, b: evidence.answer_finding(
            v=v,
            user=current_user,
            finding_id=finding_id,
            response=str(b.get("response") or ""),
            corrected=bool(b.get("corrected")),
        ),
    )


@blp.route(
    "/verifications/<int:verification_id>/findings/<int:finding_id>/decide", methods=["POST"]
)
@auth_required("token", "session")
def post_decide(verification_id: int, finding_id: int):
    """The team's decision: {decision: closed|kept, note}."""
    return _do(
        verification_id,
        lambda v, b: evidence.decide_finding(
            v=v,
            user=current_user,
            finding_id=finding_id,
            decision=str(b.get("decision") or ""),
            note=b.get("note"),
        ),
    )


def register(app: Flask) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
