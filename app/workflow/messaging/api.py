"""``POST /api/v1/messages``: ``{"messageName", "correlationKeys": {k: v | {"value": v}},
"processVariables": {...}, "processInstanceId"?}`` -> 200 ``{resultType,
processInstanceId, status, started}``; 404 when nothing matches, 409 when ambiguous.

Authentication: a token or session with ``workflow.message`` (machine clients) or the
platform administrator's ``case.admin``.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import jsonify, request
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import error_body
from app.audit import service as audit
from app.extensions import db
from app.uow import commit
from app.workflow.errors import Forbidden, Invalid, WorkflowError
from app.workflow.messaging import service

blp = Blueprint(
    "workflow_messages_api",
    __name__,
    url_prefix="/api/v1",
    description="消息 Message correlation (start or resume process instances)",
)


def _audited(fn):
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except WorkflowError as exc:
            db.session.rollback()
            body = request.get_json(silent=True) or {}
            audit.record(
                "workflow.message.refused",
                object_type="workflow_message",
                object_id=str(body.get("messageName") or "")[:100] or None,
                user=current_user,
                summary={"status": exc.status, "code": exc.code, "reason": exc.message[:300]},
            )
            commit()
            return jsonify(error_body(exc.status, exc.message, exc.code, exc.fields)), exc.status

    return wrapper


@blp.route("/messages", methods=["POST"])
@auth_required("token", "session")
@_audited
def correlate():
    """Correlate a message: resume the waiting instance or start a new one."""
    if not (
        current_user.has_permission("workflow.message") or current_user.has_permission("case.admin")
    ):
        raise Forbidden("需要消息关联权限（workflow.message）")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("请求体必须是 JSON 对象", fields={"body": "必须是 JSON 对象"})
    pid = body.get("processInstanceId")
    if pid is not None and not (isinstance(pid, int) or str(pid).isdigit()):
        raise Invalid("processInstanceId 必须是整数", fields={"processInstanceId": "必须是整数"})
    result = service.correlate(
        name=body.get("messageName") or body.get("name"),
        correlation_keys=body.get("correlationKeys"),
        payload=body.get("processVariables", body.get("payload")),
        process_instance_id=int(pid) if pid is not None else None,
        user=current_user,
    )
    return jsonify(result)
