"""The BPMN side of verification: the services the report case and the verification case
call by name, and the hooks of the verification case's user tasks (who may submit, what
must be recorded first, what the step changes).

Report case (`processes/enterprise_report`): `verification.required` after 初审 (asked by
the reviewer, or a key emitter), `verification.request` starts the verification case,
then the report waits for the message `verification_result` before 终审.
Verification case (`processes/third_party_verification`): the hooks below; its
`verification.sign` service enqueues the statement job, whose message `statement_signed`
lets the case end by sending `verification_result` back to the report case.
Writes are deferred with `context.after_save` (after the instance's guarded UPDATE).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from app.extensions import db
from app.jobs import outbox
from app.orgs.models import Enterprise
from app.orgs.service import enterprise_by_uscc
from app.uow import refused
from app.verification import evidence, rules, service
from app.verification.service import PROCESS, require_team
from app.verification.statement import new_statement_uid
from app.workflow import context, hooks
from app.workflow.engine import ServiceError, register_service
from app.workflow.errors import Forbidden, Invalid

REPORT = "enterprise_report"


def _case_enterprise() -> Enterprise | None:
    ctx = context.current()
    if ctx is None or not ctx.enterprise_uscc:
        return None
    return enterprise_by_uscc(ctx.enterprise_uscc)


def _year(data: dict[str, Any]) -> int:
    return int(data.get("year") or date.today().year - 1)


# ---- the report case's services ----------------------------------------------------------


@register_service("verification.required", replace=True)
def verification_required(data: dict[str, Any]) -> dict[str, Any]:
    """After 初审: required when the reviewer asked for it or the enterprise is a key emitter
    (flagged, or its year reaches the configured threshold)."""
    ctx = context.current()
    if ctx is None or not ctx.enterprise_uscc or data.get("month"):
        return {"verification_required": False, "verification_reason": None}
    reason = rules.required(
        uscc=ctx.enterprise_uscc, year=_year(data), asked=bool(data.get("require_verification"))
    )
    return {"verification_required": reason is not None, "verification_reason": reason}


@register_service("verification.request", replace=True)
def verification_request(data: dict[str, Any]) -> dict[str, Any]:
    """Start the verification case for this report (after the report case is saved)."""
    ctx = context.current()
    ent = _case_enterprise()
    if ctx is None or ent is None:
        raise ServiceError("案件未关联企业，无法发起核查")
    year, reason = _year(data), data.get("verification_reason") or "需要第三方核查"

    def write(instance_id: int) -> None:
        from app.identity.models import User
        from app.workflow import service as workflow

        actor = ctx.actor or (db.session.get(User, ctx.initiator_id) if ctx.initiator_id else None)
        child = workflow.start(
            model=PROCESS,
            user=actor,
            data={
                "enterprise_uscc": ent.uscc,
                "year": year,
                "report_case_id": instance_id,
                "reason": reason,
            },
        )
        v = service.create(
            instance_id=child.id,
            report_instance_id=instance_id,
            enterprise=ent,
            year=year,
            reason=reason,
        )
        context.audit(
            "verification.request",
            object_type="verification",
            object_id=v.id,
            user=ctx.actor,
            summary={"report_case": instance_id, "verification_case": child.id, "reason": reason},
        )

    context.after_save(write)
    return {"verification_requested": True}


# ---- the verification case -------------------------------------------------------------


@hooks.on_start(PROCESS)
def verification_start(data: dict[str, Any], enterprise: Enterprise | None) -> dict[str, Any]:
    if enterprise is None:
        raise Invalid("核查必须指定企业", fields={"enterprise_uscc": "必填"})
    try:
        year = int(data.get("year"))
    except (TypeError, ValueError):
        raise Invalid("发起数据校验未通过", fields={"year": "必须是整数年份"}) from None
    return {
        **data,
        "year": year,
        "report_case_id": data.get("report_case_id"),
        "verification_id": None,
        "statement_uid": None,
        "opinion": None,
        "verified_total": None,
        "open_findings": 0,
    }


@hooks.title(PROCESS)
def verification_title(data: dict[str, Any], enterprise: Enterprise | None) -> str:
    return f"{enterprise.name if enterprise else '企业'} {data.get('year')}年度第三方核查"


def _current() -> tuple[Any, Any]:
    ctx = context.current()
    v = service.get_by_instance(instance_id=ctx.instance_id) if ctx else None
    if v is None:
        raise Invalid("核查案件不存在")
    return ctx, v


@hooks.on_submit(PROCESS, "assign_body")
def on_assign(data: dict[str, Any], task_data: dict[str, Any]):
    ctx, v = _current()
    code = str(data.get("body_code") or "").strip()
    errors = service.assignment_errors(v=v, body_code=code, user=ctx.actor)
    if not errors:
        context.after_save(lambda _id: service.assign(v=v, body_code=code, user=ctx.actor))
        context.audit(
            "verification.assign",
            object_type="verification",
            object_id=v.id,
            user=ctx.actor,
            summary={"body": code},
        )
    return errors, {"verification_id": v.id, "body_code": code}


@hooks.on_submit(PROCESS, "accept_assignment")
def on_accept(data: dict[str, Any], task_data: dict[str, Any]):
    ctx, v = _current()
    if v.body_code not in service.user_bodies(ctx.actor):
        refused(
            "verification.refused",
            object_type="verification",
            object_id=v.id,
            user=ctx.actor,
            summary={"action": "accept", "reason": "other_body"},
        )
        raise Forbidden("只有被指派核查机构的核查员可以接受委托")
    if data.get("decision") == "decline":
        reason = str(data.get("reason") or "").strip()
        context.after_save(lambda _id: service.decline(v=v, user=ctx.actor, reason=reason))
        context.audit(
            "verification.decline",
            object_type="verification",
            object_id=v.id,
            user=ctx.actor,
            summary={"body": v.body_code, "reason": reason},
        )
        return {}, {}
    team, error = service.parse_team(v=v, lead=ctx.actor, text=data.get("team"))
    if error:
        return {"team": error}, {}
    context.after_save(lambda _id: service.accept(v=v, lead=ctx.actor, team=team))
    context.audit(
        "verification.accept",
        object_type="verification",
        object_id=v.id,
        user=ctx.actor,
        summary={"body": v.body_code, "team": team},
    )
    return {}, {"lead_user_id": ctx.actor.id, "team": team}


@hooks.on_submit(PROCESS, "plan")
def on_plan(data: dict[str, Any], task_data: dict[str, Any]):
    ctx, v = _current()
    require_team(v, ctx.actor, "plan")
    materiality = service.decimal_or_none(data.get("materiality_pct")) or rules.DEFAULT_MATERIALITY
    risks = {key: data.get(f"risk_{key}") for key, _, _ in rules.SOURCES}
    sampling = rules.propose_sampling(json.loads(v.reported or "{}") or {"sources": {}})
    context.after_save(
        lambda _id: service.save_plan(
            v=v, level=data["level_of_assurance"], materiality=materiality, risks=risks
        )
    )
    return {}, {"sampling": sampling}


@hooks.on_submit(PROCESS, "fieldwork")
def on_fieldwork(data: dict[str, Any], task_data: dict[str, Any]):
    ctx, v = _current()
    require_team(v, ctx.actor, "fieldwork")
    missing = evidence.missing_checks(v=v)
    if missing:
        names = "、".join(f"{rules.SOURCE_LABELS[s]} {m} 月" for s, m in missing[:12])
        more = f" 等 {len(missing)} 项" if len(missing) > 12 else ""
        return {"_form": f"抽样计划中的文件评审尚未完成：{names}{more}"}, {}
    open_findings = sum(1 for f in evidence.findings(v=v) if f.status == "open")

    def write(_id: int) -> None:
        v.site_visit_date = date.fromisoformat(str(data["site_visit_date"]))
        v.site_people = str(data.get("people_met") or "")
        v.site_notes = data.get("site_notes") or None
        v.status = "findings" if open_findings else "conclusion"

    context.after_save(write)
    return {}, {"open_findings": open_findings}


@hooks.on_submit(PROCESS, "respond_findings")
def on_respond(data: dict[str, Any], task_data: dict[str, Any]):
    _ctx, v = _current()
    waiting = [f for f in evidence.findings(v=v) if f.status == "open"]
    if waiting:
        return {"_form": f"还有 {len(waiting)} 个不符合项未答复"}, {}
    ent = enterprise_by_uscc(v.enterprise_uscc)

    def write(_id: int) -> None:  # the case shows the figures before and after corrections
        v.corrected = json.dumps(rules.reported(enterprise=ent, year=v.year))

    context.after_save(write)
    return {}, {}


@hooks.on_submit(PROCESS, "review_findings")
def on_review_findings(data: dict[str, Any], task_data: dict[str, Any]):
    ctx, v = _current()
    require_team(v, ctx.actor, "review_findings")
    undecided = [f for f in evidence.findings(v=v) if f.status == "answered"]
    if undecided:
        return {"_form": f"还有 {len(undecided)} 个不符合项未关闭或保留"}, {}
    context.after_save(lambda _id: setattr(v, "status", "conclusion"))
    return {}, {"open_findings": 0}


@hooks.on_submit(PROCESS, "conclusion")
def on_conclusion(data: dict[str, Any], task_data: dict[str, Any]):
    ctx, v = _current()
    require_team(v, ctx.actor, "conclusion")
    ent = enterprise_by_uscc(v.enterprise_uscc)
    current = rules.reported(enterprise=ent, year=v.year)
    verified = {key: Decimal(str(data.get(f"verified_{key}") or 0)) for key, _, _ in rules.SOURCES}
    result = rules.differences(
        reported_sources=current["sources"],
        verified=verified,
        materiality_pct=Decimal(v.materiality_pct or "5"),
    )
    opinion, reasons = data.get("opinion"), str(data.get("difference_reasons") or "").strip()
    errors: dict[str, str] = {}
    if Decimal(result["difference"]) != 0 and not reasons:
        errors["difference_reasons"] = "核查值与报告值存在差异，必须说明差异及原因"
    kept = [f for f in evidence.findings(v=v) if f.status == "kept"]
    if opinion == "unqualified" and result["material"]:
        errors["opinion"] = (
            f"差异率 {result['difference_pct']} % 超过实质性阈值 "
            f"{result['materiality_pct']} %，不能出具无保留意见"
        )
    elif opinion == "unqualified" and kept:
        errors["opinion"] = f"仍有 {len(kept)} 个保留的不符合项，不能出具无保留意见"
    if errors:
        return errors, {}

    def write(_id: int) -> None:
        v.verified = json.dumps(result, ensure_ascii=False)
        v.opinion, v.difference_reasons, v.material = opinion, reasons or None, result["material"]
        if v.corrected is None:
            v.corrected = json.dumps(current)
        v.status = "review"

    context.after_save(write)
    return {}, {
        "opinion": opinion,
        "verified_total": result["verified_total"],
        "conclusion": result,
    }


@hooks.on_submit(PROCESS, "independent_review")
def on_independent_review(data: dict[str, Any], task_data: dict[str, Any]):
    ctx, v = _current()
    uid = getattr(ctx.actor, "id", None)
    if uid in service.team_ids(v) or v.body_code not in service.user_bodies(ctx.actor):
        refused(
            "verification.refused",
            object_type="verification",
            object_id=v.id,
            user=ctx.actor,
            summary={"action": "independent_review", "reason": "on_team_or_other_body"},
        )
        raise Forbidden("独立复核须由本机构未参与本案核查组的核查员办理")

    def write(_id: int) -> None:
        v.reviewer_user_id = uid
        v.status = "review" if data.get("decision") == "approve" else "conclusion"

    context.after_save(write)
    return {}, {}


@register_service("verification.sign", replace=True)
def verification_sign(data: dict[str, Any]) -> dict[str, Any]:
    """Independent review passed: the statement is written and signed by a job."""
    ctx = context.current()
    if ctx is None:
        return {"statement_uid": None}
    v = service.get_by_instance(instance_id=ctx.instance_id)
    if v is None:
        raise ServiceError("核查案件不存在")
    uid = new_statement_uid()

    def write(instance_id: int) -> None:
        outbox.enqueue(
            "verification.issue_statement",
            key=f"verification-statement:{v.id}",
            verification_id=v.id,
            instance_id=instance_id,
            statement_uid=uid,
        )

    context.after_save(write)
    return {"statement_uid": uid}
