"""REST: /api/v1/process-models, /process-instances, /tasks (thin: the service does the work).

Errors answer ``{"error": {"code", "message", "fields"}}``; a deploy rejected by validation
adds ``"problems": [{file, element_id, message}]`` (422); a lost race is 409.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from flask import jsonify, request
from flask_security import auth_required, current_user, permissions_required
from flask_smorest import Blueprint

from app.api import error_body
from app.workflow import assignment, deploy, diagram, service
from app.workflow.errors import DeployRejected, Invalid, NotFound, WorkflowError
from app.workflow.external.declare import declare_external
from app.workflow.models import ProcessInstance
from app.workflow.schemas import (
    CompleteIn,
    DeployResultSchema,
    InstanceSchema,
    ProblemsSchema,
    ProcessModelSchema,
    ReturnIn,
    StartIn,
    TaskDetailSchema,
    TaskQuery,
    TaskSchema,
)

blp = Blueprint("workflow_api", __name__, url_prefix="/api/v1",
                description="流程 Process models, instances and tasks")


def answer_errors(fn):
    """Map service errors to the API's error shape (never a 500 for a known problem)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except DeployRejected as exc:
            body = error_body(422, exc.message, exc.code)
            body["error"].update(problems=exc.problems, warnings=exc.warnings,
                                 unmapped_lanes=exc.unmapped_lanes, processes=exc.processes)
            _audit_refusal(exc)
            return jsonify(body), 422
        except WorkflowError as exc:
            return jsonify(error_body(exc.status, exc.message, exc.code, exc.fields)), exc.status
    return wrapper


def _audit_refusal(exc: DeployRejected) -> None:
    """A refused deploy leaves its own audit record (the request itself rolls back)."""
    from app.audit import service as audit
    from app.extensions import db
    from app.uow import commit

    db.session.rollback()
    audit.record("workflow.model.deploy_refused", object_type="workflow_model",
                 object_id=request.form.get("process_id") or None, user=current_user,
                 summary={"problems": [p["message"] for p in exc.problems][:50],
                          "unmapped_lanes": exc.unmapped_lanes})
    commit()


def _deploy_options() -> dict[str, Any]:
    """``lane_roles`` (JSON object, lane name -> role) and ``process_id`` form fields."""
    import json

    raw = request.form.get("lane_roles")
    try:
        lanes = json.loads(raw) if raw else None
    except ValueError as exc:
        raise Invalid("lane_roles 不是合法的 JSON", fields={"lane_roles": "格式错误"}) from exc
    return {"lane_roles": lanes, "process_id": (request.form.get("process_id") or "").strip()
            or None}


def _uploaded() -> dict[str, bytes]:
    files = {}
    for key in request.files:
        for storage in request.files.getlist(key):
            if storage and storage.filename:
                files[storage.filename] = storage.read()
    return declare_external(files, request.form.get("external"))


def _is_admin() -> bool:
    return current_user.has_permission("case.admin")


def instance_view(inst: ProcessInstance) -> dict[str, Any]:
    message = service.user_error_message(inst)
    error = inst.error if _is_admin() else (message if inst.error else None)
    return {**{c: getattr(inst, c) for c in (
        "id", "process_key", "title", "status", "status_label", "version", "region_code",
        "enterprise_uscc", "initiator_id", "created_at", "updated_at", "completed_at")},
        "model_version": inst.model_version.version, "error": error,
        "message": message,
        "tasks": service.current_tasks(inst=inst), "history": service.history(inst=inst)}


@blp.route("/process-models")
@auth_required("token", "session")
@blp.response(200, ProcessModelSchema(many=True))
def list_models():
    """Process models with their versions."""
    return deploy.get_all()


@blp.route("/process-models", methods=["POST"])
@auth_required("token", "session")
@permissions_required("designer.deploy")
@blp.response(201, DeployResultSchema)
@answer_errors
def deploy_model():
    """Deploy BPMN (+ DMN, forms: JSON Schema / UI schema / cecp ``*.json``, Camunda
    ``*.form``) files, multipart; a new version unless identical. Form fields:
    ``lane_roles`` (JSON {lane: role}) and ``process_id`` (the pool that starts, for a
    collaboration of several executable pools). 422 lists every problem, apart from the
    warnings, the unmapped lanes and the processes to choose from."""
    files = _uploaded()
    if not files:
        raise WorkflowError("请上传 BPMN 文件（multipart/form-data）", code="no_files")
    result = deploy.deploy_model(files=files, user=current_user, **_deploy_options())
    row = result.version
    return {"model": row.model.key, "version": row.version, "content_hash": row.content_hash,
            "created": result.created, "warnings": result.warnings,
            "lane_roles": result.lane_roles, "other_processes": result.other_processes,
            "message_flows": result.message_flows, "partners": result.partners}


@blp.route("/process-models/validate", methods=["POST"])
@auth_required("token", "session")
@permissions_required("designer.edit")
@blp.response(200, ProblemsSchema)
def validate_model():
    """Validate files without deploying: the problems (errors; empty = deployable), the
    warnings apart, the unmapped lanes and the processes to choose from."""
    return deploy.check(_uploaded(), **_deploy_options())


@blp.route("/process-models/<string:key>/files/<string:name>")
@auth_required("token", "session")
@permissions_required("designer.edit")
@answer_errors
def model_file(key: str, name: str):
    """One file of the latest version (the designer opens BPMN files with it)."""
    model = deploy.get_model(key_or_id=key)
    files = json.loads(deploy.latest_version(model).files)
    if name not in files and name.endswith(".bpmn"):
        name = next((n for n in sorted(files) if n.endswith(".bpmn")), name)
    if name not in files:
        raise NotFound("文件不存在")
    kind = "application/json" if name.endswith(".json") else "application/xml"
    return files[name], 200, {"Content-Type": f"{kind}; charset=utf-8"}


@blp.route("/process-models/<string:key>/versions")
@auth_required("token", "session")
@permissions_required("designer.edit")
@answer_errors
def model_versions(key: str):
    """Version history, newest first, each with what changed from the one before it."""
    model = deploy.get_model(key_or_id=key)
    versions = sorted(model.versions, key=lambda v: v.version)
    out = []
    for before, row in zip([None, *versions[:-1]], versions, strict=True):
        meta = deploy.read_meta(json.loads(row.files))
        out.append({"version": row.version, "content_hash": row.content_hash,
                    "deployed_by": row.deployed_by, "deployed_at": row.deployed_at.isoformat(),
                    "lane_roles": meta.get("lane_roles") or {},
                    "process_id": meta.get("process_id"),
                    "changes": diagram.version_diff(before, row)})
    return jsonify({"model": model.key, "name": model.name, "versions": out[::-1]})


@blp.route("/process-instances/<int:instance_id>/diagram")
@auth_required("token", "session")
@answer_errors
def instance_diagram(instance_id: int):
    """The case's BPMN with its completed elements and current step (for the viewer)."""
    inst = service.get_instance(instance_id=instance_id, user=current_user)
    return jsonify(diagram.instance_path(inst))


@blp.route("/process-instances", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(StartIn)
@blp.response(201, InstanceSchema)
@answer_errors
def start_instance(body):
    """Start an instance: {"model": key or id, "data": {...}} (case within your scope)."""
    inst = service.start(model=body["model"], data=body["data"], user=current_user)
    return instance_view(inst)


@blp.route("/process-instances/<int:instance_id>")
@auth_required("token", "session")
@blp.response(200, InstanceSchema)
@answer_errors
def get_instance(instance_id: int):
    """State, history and current tasks."""
    return instance_view(service.get_instance(instance_id=instance_id, user=current_user))


@blp.route("/process-instances/<int:instance_id>/retry", methods=["POST"])
@auth_required("token", "session")
@permissions_required("case.admin")
@blp.response(200, InstanceSchema)
@answer_errors
def retry_instance(instance_id: int):
    """Administrators: run the failed step of an instance in error again."""
    return instance_view(service.retry(instance_id=instance_id, user=current_user))


@blp.route("/tasks")
@auth_required("token", "session")
@blp.arguments(TaskQuery, location="query")
@blp.response(200, TaskSchema(many=True))
def list_tasks(args):
    """Ready human tasks the caller may work (mine=true: only 我的待办)."""
    from app.extensions import db

    flt = assignment.InboxFilter(process=args["process"], enterprise=args["enterprise"],
                                 region=args["region"], overdue=args["overdue"],
                                 instance_id=args["instance"])
    box = "mine" if args["mine"] else args["box"]
    stmt = assignment.tasks_query(user=current_user, box=box, flt=flt).limit(500)
    return db.session.scalars(stmt).all()


@blp.route("/tasks/<string:task_id>")
@auth_required("token", "session")
@blp.response(200, TaskDetailSchema)
@answer_errors
def get_task(task_id: str):
    """One task with its form (JSON Schema + UI schema)."""
    task = service.get_task(task_id=task_id, user=current_user)
    return {**{name: getattr(task, name) for name in TaskSchema().fields},
            "form": service.task_form(task),
            "can_work": assignment.can_work(current_user, task)}


@blp.route("/tasks/<string:task_id>/claim", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, TaskSchema)
@answer_errors
def claim_task(task_id: str):
    """Claim a task of your role and scope."""
    return service.claim(task_id=task_id, user=current_user)


@blp.route("/tasks/<string:task_id>/release", methods=["POST"])
@auth_required("token", "session")
@blp.response(200, TaskSchema)
@answer_errors
def release_task(task_id: str):
    """Give a claimed task back to the pool."""
    return service.release(task_id=task_id, user=current_user)


@blp.route("/tasks/<string:task_id>/complete", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(CompleteIn)
@blp.response(200, InstanceSchema)
@answer_errors
def complete_task(body, task_id: str):
    """Complete with {"data": {...}}, validated against the task's form (422 + fields)."""
    inst = service.complete(task_id=task_id, user=current_user, data=body["data"])
    return instance_view(inst)


@blp.route("/tasks/<string:task_id>/return", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ReturnIn)
@blp.response(200, InstanceSchema)
@answer_errors
def return_task(body, task_id: str):
    """Return a review task with a comment (decision = return)."""
    inst = service.return_task(task_id=task_id, user=current_user, comment=body["comment"])
    return instance_view(inst)
