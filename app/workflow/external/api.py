"""REST for external-task workers, modelled on Camunda 7's external task API:

- ``POST /api/v1/external-task/fetchAndLock`` ``{workerId, maxTasks, topics: [{topicName,
  lockDuration, variables?}]}`` -> locked tasks with their variables (typed values);
- ``POST /api/v1/external-task/<id>/complete`` ``{workerId, variables}`` -> 204;
- ``POST /api/v1/external-task/<id>/failure`` ``{workerId, errorMessage, errorDetails,
  retries, retryTimeout}`` -> 204 (0 retries: an incident, the instance in error);
- ``POST /api/v1/external-task/<id>/bpmnError`` ``{workerId, errorCode, errorMessage,
  variables}`` -> 204 (caught by the task's error boundary event);
- ``POST /api/v1/external-task/<id>/extendLock`` ``{workerId, newDuration}`` -> 204;
- ``GET /api/v1/external-task?topicName=&processInstanceId=`` -> tasks in the caller's scope.

Authentication: a token (machine client ``X-API-Key``) with ``workflow.external``.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import jsonify, request
from flask_security import auth_required, current_user, permissions_required
from flask_smorest import Blueprint

from app.api import error_body
from app.audit import service as audit
from app.extensions import db
from app.uow import commit
from app.workflow.errors import Invalid, WorkflowError
from app.workflow.external import service

blp = Blueprint(
    "workflow_external_api",
    __name__,
    url_prefix="/api/v1/external-task",
    description="外部任务 External tasks for workers (Camunda 7 style)",
)
PERMISSION = "workflow.external"
_TASK_LIST = {"responses": {"200": {"description": "外部任务列表", "content": {"application/json": {
    "schema": {"type": "array", "items": {"type": "object", "additionalProperties": True}}}}}}}
_NO_CONTENT = {"responses": {"204": {"description": "已完成，无内容"}}}


def answer_errors(fn):
    """Known errors answer ``{"error": ...}`` with their status; each refusal is audited in
    a transaction of its own (the refused change is rolled back)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except WorkflowError as exc:
            db.session.rollback()
            audit.record(
                "workflow.external.refused",
                object_type="workflow_external_task",
                object_id=kwargs.get("task_id"),
                user=current_user,
                summary={
                    "endpoint": fn.__name__,
                    "status": exc.status,
                    "code": exc.code,
                    "reason": exc.message[:300],
                },
            )
            commit()
            return jsonify(error_body(exc.status, exc.message, exc.code, exc.fields)), exc.status

    return wrapper


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("请求体必须是 JSON 对象", fields={"body": "必须是 JSON 对象"})
    return body


@blp.route("/fetchAndLock", methods=["POST"])
@blp.doc(**_TASK_LIST)
@auth_required("token")
@permissions_required(PERMISSION)
@answer_errors
def fetch_and_lock():
    """Lock free tasks of the given topics for this worker."""
    body = _body()
    return jsonify(
        service.fetch_and_lock(
            worker_id=str(body.get("workerId") or ""),
            max_tasks=body.get("maxTasks") or 1,
            topics=body.get("topics") or [],
            user=current_user,
        )
    )


@blp.route("/<string:task_id>/complete", methods=["POST"])
@blp.doc(**_NO_CONTENT)
@auth_required("token")
@permissions_required(PERMISSION)
@answer_errors
def complete(task_id: str):
    """Complete a locked task with variables."""
    body = _body()
    service.complete(
        task_id=task_id,
        worker_id=str(body.get("workerId") or ""),
        variables=body.get("variables"),
        user=current_user,
    )
    return "", 204


@blp.route("/<string:task_id>/failure", methods=["POST"])
@blp.doc(**_NO_CONTENT)
@auth_required("token")
@permissions_required(PERMISSION)
@answer_errors
def failure(task_id: str):
    """Report a technical failure with the retries left and the back-off."""
    body = _body()
    service.failure(
        task_id=task_id,
        worker_id=str(body.get("workerId") or ""),
        error_message=body.get("errorMessage"),
        error_details=body.get("errorDetails"),
        retries=body.get("retries"),
        retry_timeout=body.get("retryTimeout"),
        user=current_user,
    )
    return "", 204


@blp.route("/<string:task_id>/bpmnError", methods=["POST"])
@blp.doc(**_NO_CONTENT)
@auth_required("token")
@permissions_required(PERMISSION)
@answer_errors
def bpmn_error(task_id: str):
    """Report a business error, caught by the task's error boundary event."""
    body = _body()
    service.bpmn_error(
        task_id=task_id,
        worker_id=str(body.get("workerId") or ""),
        error_code=str(body.get("errorCode") or ""),
        error_message=body.get("errorMessage"),
        variables=body.get("variables"),
        user=current_user,
    )
    return "", 204


@blp.route("/<string:task_id>/extendLock", methods=["POST"])
@blp.doc(**_NO_CONTENT)
@auth_required("token")
@permissions_required(PERMISSION)
@answer_errors
def extend_lock(task_id: str):
    """Extend the lock of a task this worker holds."""
    body = _body()
    service.extend_lock(
        task_id=task_id,
        worker_id=str(body.get("workerId") or ""),
        new_duration=body.get("newDuration"),
        user=current_user,
    )
    return "", 204


@blp.route("", methods=["GET"])
@blp.doc(**_TASK_LIST)
@auth_required("token", "session")
@answer_errors
def list_tasks():
    """External tasks in the caller's scope (workers and administrators)."""
    if not (current_user.has_permission(PERMISSION) or current_user.has_permission("case.admin")):
        raise Invalid("需要外部任务或流程管理权限", code="forbidden")
    instance = request.args.get("processInstanceId")
    rows = service.list_for(
        user=current_user,
        topic=request.args.get("topicName"),
        instance_id=int(instance) if instance and instance.isdigit() else None,
    )
    return jsonify(
        [{**service.view(r), "incident": r.incident, "errorDetails": r.error_details} for r in rows]
    )
