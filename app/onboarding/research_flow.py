"""The BPMN side of research data requests (`processes/research_data_request`): a request
starts an instance whose review task (lane `admin`) approves, returns or rejects; an
approval runs the service `research.export_enqueue` (the keyed `research.export` job, the
disclosure rules unchanged); a return gives the requesting institute's members (lane
`research`, the case's party is the institute) an amend task, and the same instance goes
back to review.

The API and the pages call `decide` and `resubmit`, which complete those tasks: one path,
with the inbox page running the same hooks. Writes are deferred with `context.after_save`;
a decision on a request no longer in review is a 409.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.onboarding import research
from app.onboarding.flow import as_application_error, ensure_deployed
from app.onboarding.models import DataRequest
from app.onboarding.service import ApplicationError
from app.workflow import context, hooks
from app.workflow.engine import ServiceError, register_service
from app.workflow.errors import Conflict, Invalid, WorkflowError
from app.workflow.models import WorkTask

PROCESS = "research_data_request"


def _period(yyyymm: int) -> str:
    return f"{yyyymm // 100}-{yyyymm % 100:02d}"


def open_case(req: DataRequest, *, user: Any) -> None:
    from app.workflow import service as workflow

    ensure_deployed(PROCESS)
    inst = workflow.start(model=PROCESS, data={"request_id": req.id}, user=user)
    req.case_id = inst.id


def open_task(req: DataRequest, name: str) -> WorkTask | None:
    if req.case_id is None:
        return None
    return db.session.scalar(select(WorkTask).where(WorkTask.instance_id == req.case_id,
                                                    WorkTask.name == name))


def _req_of(data: dict[str, Any]) -> DataRequest:
    req = db.session.get(DataRequest, int(data.get("request_id") or 0))
    if req is None:
        raise ServiceError("数据申请不存在")
    return req


@hooks.on_start(PROCESS)
def _on_start(data: dict[str, Any], enterprise: Any) -> dict[str, Any]:
    try:
        req = db.session.get(DataRequest, int(data.get("request_id")))
    except (TypeError, ValueError):
        req = None
    if req is None:
        raise Invalid("数据申请不存在", fields={"request_id": "数据申请不存在"})
    return {"request_id": req.id, "request_uid": req.uid,
            "institution_code": req.institution_code, "purpose": req.purpose[:200],
            "regions": req.regions, "period": f"{_period(req.period_from)}—"
                                              f"{_period(req.period_to)}", "decision": None}


@hooks.title(PROCESS)
def _title(data: dict[str, Any], enterprise: Any) -> str:
    return f"科研数据申请 {data.get('period')}（{data.get('regions')}）"


@hooks.case_institution(PROCESS)
def _case_institution(data: dict[str, Any]) -> str | None:
    return data.get("institution_code")


@hooks.on_submit(PROCESS, "review")
def _on_review(data: dict[str, Any], task_data: dict[str, Any]):
    req = _req_of(task_data)
    try:
        research.decision_errors(req=req, decision=data.get("decision") or "",
                                 reason=data.get("reason"))
    except ApplicationError as exc:
        if exc.status == 409:
            raise Conflict(exc.message, code="already_decided") from None
        return exc.fields, {}
    decision, reason = data["decision"], (data.get("reason") or "").strip()
    actor = context.current().actor
    context.after_save(lambda _id: research.decide(req=req, decision=decision, reason=reason,
                                                   actor=actor))
    return {}, {"reason": reason}


@register_service("research.export_enqueue", replace=True)
def _svc_export(data: dict[str, Any]) -> dict[str, Any]:
    req = _req_of(data)
    context.after_save(lambda _id: research.enqueue_export(req=req))
    return {"export_queued": True}


def _run(req: DataRequest, name: str, data: dict[str, Any], user: Any) -> None:
    from app.workflow import service as workflow

    task = open_task(req, name)
    if task is None and name == "review" and req.status == "submitted":
        open_case(req, user=None)  # a request from before the process: its case starts now
        task = open_task(req, name)
    if task is None:
        raise ApplicationError({"status": "没有待办理的审批任务"}, status=409)
    try:
        workflow.complete(task_id=task.id, user=user, data=data)
    except WorkflowError as exc:
        raise as_application_error(exc) from None


def decide(*, req: DataRequest, decision: str, reason: str | None, user: Any) -> None:
    """The platform administrator's decision: completes the case's review task."""
    research.decision_errors(req=req, decision=decision, reason=reason)
    _run(req, "review", {"decision": decision, "reason": (reason or "").strip()}, user)


def _amend_data(data: dict[str, Any]) -> dict[str, Any]:
    clean = research.validate(data)
    return {"purpose": clean["purpose"], "indicators": clean["indicators"],
            "regions": clean["regions"], "industries": clean["industries"],
            "region_level": clean["region_level"],
            "period_from": _period(clean["period_from"]),
            "period_to": _period(clean["period_to"])}


@hooks.on_submit(PROCESS, "amend")
def _on_amend(data: dict[str, Any], task_data: dict[str, Any]):
    req = _req_of(task_data)
    if req.status != "returned":
        raise Conflict("只有被退回的申请可以修改后重新提交", code="already_decided")
    try:
        clean = _amend_data(data)
    except ApplicationError as exc:
        return exc.fields, {}
    context.after_save(lambda _id: research.resubmit(req=req, data=clean))
    return {}, {"decision": None, "reason": None}


def resubmit(*, req: DataRequest, data: dict[str, Any], user: Any) -> None:
    """The requester's changes: completes the amend task (the same case goes back to
    review)."""
    if req.status != "returned":
        raise ApplicationError({"status": "只有被退回的申请可以修改后重新提交"}, status=409)
    _run(req, "amend", _amend_data(data), user)


@hooks.context(PROCESS)
def _context(inst: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """Beside the review and amend tasks: the request as it stands and the last reason."""
    req = db.session.get(DataRequest, int(data.get("request_id") or 0))
    if req is None:
        return None
    k, share = research.settings()
    return {"template": "onboarding/_research_context.html", "req": req,
            "json": research.as_json(req), "k": k, "share": share}
