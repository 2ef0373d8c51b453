"""The BPMN side of certification (`processes/reduction_certification`): the start hook
(the owner submits a monitoring report naming the verification body it engaged), the user
task hooks (verify, certify) and the two services (`trading.cert_open`,
`trading.cert_issue`). Lanes are roles (enterprise, verifier, reviewer); the verifier lane
is narrowed to the verification body that is the case's party (`set_case_body`), so a
verifier of another body never sees or works the task. Writes are deferred with
`context.after_save` (after the instance's guarded UPDATE), so a losing concurrent step
writes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.extensions import db
from app.orgs.models import Enterprise
from app.trading import certification as cert
from app.uow import refused
from app.verification.service import set_case_body, user_bodies
from app.workflow import context, hooks
from app.workflow.engine import ServiceError, register_service
from app.workflow.errors import Forbidden, Invalid

PROCESS = cert.PROCESS


@hooks.on_start(PROCESS)
def cert_start(data: dict[str, Any], enterprise: Enterprise | None) -> dict[str, Any]:
    try:
        report_id = int(data.get("report_id"))
    except (TypeError, ValueError):
        raise Invalid("发起数据校验未通过", fields={"report_id": "必须是监测报告编号"}) from None
    body_code = str(data.get("body_code") or "").strip()
    report = cert.get_by_id(report_id=report_id)
    errors = cert.open_errors(report=report, enterprise_uscc=getattr(enterprise, "uscc", None),
                              body_code=body_code)
    if errors:
        raise Invalid("提交核证未通过：" + "；".join(errors.values()), fields=errors)
    return {"report_id": report_id, "body_code": body_code, "project": report.project.code,
            "period": cert.period_label(report), "reduction": str(report.reduction),
            "verified_tonnes": None, "decision": None}


@hooks.title(PROCESS)
def cert_title(data: dict[str, Any], enterprise: Enterprise | None) -> str:
    return f"{data.get('project')} {data.get('period')} 减排量核证"


@register_service("trading.cert_open", replace=True)
def cert_open(data: dict[str, Any]) -> dict[str, Any]:
    """Mark the report submitted and make the engaged body the case's party."""
    ctx = context.current()
    if ctx is None:
        raise ServiceError("减排量核证必须在案件中运行")
    report_id, body_code, actor = int(data["report_id"]), data["body_code"], ctx.actor

    def write(instance_id: int) -> None:
        set_case_body(instance_id=instance_id, body_code=body_code)
        cert.submit(report=cert.get_by_id(report_id=report_id), case_id=instance_id,
                    user=actor)

    context.after_save(write)
    return {"submitted": True}


def _report_and_ctx():
    ctx = context.current()
    data_report = None
    if ctx is not None and ctx.instance_id is not None:
        from app.workflow.models import ProcessInstance

        inst = db.session.get(ProcessInstance, ctx.instance_id)
        data_report = (inst, inst.verification_body_code if inst else None)
    if data_report is None or data_report[0] is None:
        raise Invalid("核证案件不存在")
    return ctx, data_report[0], data_report[1]


@hooks.on_submit(PROCESS, "verify")
def on_verify(data: dict[str, Any], task_data: dict[str, Any]):
    ctx, inst, body = _report_and_ctx()
    report = cert.get_by_id(report_id=int(task_data["report_id"]))
    if body is None or body not in user_bodies(ctx.actor):
        refused("trading.report.refused", object_type="trading_monitoring_report",
                object_id=report.id, user=ctx.actor,
                summary={"action": "verify", "reason": "other_body"})
        raise Forbidden("只有本案核查机构的核查员可以核查")
    errors = cert.verify_errors(report=report, data=data)
    if errors:
        return errors, {}
    verified = str(Decimal(str(data["verified_tonnes"])))
    summary = {"verified": verified, "body": body, "opinion": data.get("opinion"),
               "correction_reason": data.get("correction_reason"),
               "findings": data.get("findings")}
    actor = ctx.actor
    context.after_save(lambda _id: cert.mark(report=report, status="verified", user=actor,
                                             summary=summary))
    return {}, {"verified_tonnes": verified, "verifier_id": actor.id}


@hooks.on_submit(PROCESS, "certify")
def on_certify(data: dict[str, Any], task_data: dict[str, Any]):
    ctx, inst, body = _report_and_ctx()
    report = cert.get_by_id(report_id=int(task_data["report_id"]))
    if data.get("decision") == "return":
        actor, comment = ctx.actor, data.get("comment")
        context.after_save(lambda _id: cert.mark(report=report, status="submitted", user=actor,
                                                 summary={"returned": comment}))
    return {}, {}


@register_service("trading.cert_issue", replace=True)
def cert_issue(data: dict[str, Any]) -> dict[str, Any]:
    """Issue the lot (whole tonnes, rounded down) and the signed certificate, once."""
    ctx = context.current()
    if ctx is None:
        raise ServiceError("减排量核证必须在案件中运行")
    report_id, actor = int(data["report_id"]), ctx.actor
    verified = Decimal(str(data["verified_tonnes"]))
    verification = {k: data.get(k) for k in ("body_code", "opinion", "correction_reason",
                                             "findings", "evidence")}
    context.after_save(lambda _id: cert.issue(report_id=report_id, verified=verified,
                                              verification=verification, user=actor))
    return {"certified_tonnes": cert.certified_tonnes(verified)}
