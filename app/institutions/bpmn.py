"""The BPMN side of disclosure (`processes/institution_disclosure`): the case's party is the
institution (its members see and resubmit it) and its region (the government reviewers
whose scope covers that region review it). Writes are deferred with `context.after_save`,
so a losing concurrent step writes nothing."""

from __future__ import annotations

from typing import Any

from app.identity.scope import scope_for
from app.institutions import disclosure
from app.institutions import service as institutions
from app.uow import refused
from app.workflow import context, hooks
from app.workflow.engine import ServiceError, register_service
from app.workflow.errors import Forbidden, Invalid

PROCESS = disclosure.PROCESS


def _institution(code: Any):
    from sqlalchemy import select

    from app.extensions import db
    from app.orgs.models import Institution

    return db.session.scalar(select(Institution).where(Institution.code == str(code),
                                                       Institution.kind == "public"))


@hooks.case_party(PROCESS)
def disclosure_party(data: dict[str, Any], user: Any) -> tuple[str, str]:
    """Only a member of the institution submits it (404-like refusal for anyone else)."""
    code = str(data.get("institution") or "").strip()
    inst = _institution(code) if code else None
    if inst is None or not institutions.is_member(institution=inst, scope=scope_for(user)):
        refused("institution.disclosure.refused", object_type="institution", object_id=code,
                user=user, summary={"reason": "not_member"})
        raise Forbidden("只有本公共机构的成员可以申请公示")
    return inst.region_code, inst.code


@hooks.on_start(PROCESS)
def disclosure_start(data: dict[str, Any], _enterprise: Any) -> dict[str, Any]:
    inst = _institution(data.get("institution"))
    try:
        year = int(data.get("year"))
    except (TypeError, ValueError):
        raise Invalid("发起数据校验未通过", fields={"year": "请填写申请公示的年份"}) from None
    errors = disclosure.start_errors(institution=inst, year=year)
    if errors:
        raise Invalid("申请公示未通过：" + "；".join(errors.values()), fields=errors)
    return {"institution": inst.code, "institution_name": inst.name, "year": year,
            "decision": None}


@hooks.title(PROCESS)
def disclosure_title(data: dict[str, Any], _enterprise: Any) -> str:
    return f"{data.get('institution_name')} {data.get('year')} 年能耗与排放数据公示"


@hooks.context(PROCESS)
def disclosure_context(inst: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """Beside the review: the submitted figures with their derivation."""
    org = _institution(inst.institution_code)
    row = disclosure.get(institution=org, year=int(data["year"])) if org else None
    if row is None:
        return None
    return {"template": "institutions/_case_context.html", "d": row, "f": row.figures or {}}


@register_service("institutions.disclosure_open", replace=True)
def disclosure_open(data: dict[str, Any]) -> dict[str, Any]:
    ctx = context.current()
    if ctx is None:
        raise ServiceError("公示申请必须在案件中运行")
    code, year, actor = data["institution"], int(data["year"]), ctx.actor
    context.after_save(lambda instance_id: disclosure.open_(
        institution=_institution(code), year=year, case_id=instance_id, user=actor))
    return {"submitted": True, "decision": None}


@hooks.on_submit(PROCESS, "review")
def on_review(data: dict[str, Any], task_data: dict[str, Any]):
    ctx = context.current()
    if data.get("decision") == "return":
        code, year, actor = task_data["institution"], int(task_data["year"]), ctx.actor
        comment = data.get("comment")
        context.after_save(lambda _id: disclosure.decide(
            institution=_institution(code), year=year, decision="return", comment=comment,
            user=actor))
    return {}, {}


@hooks.on_submit(PROCESS, "resubmit")
def on_resubmit(data: dict[str, Any], task_data: dict[str, Any]):
    inst = _institution(task_data["institution"])
    errors = disclosure.completeness_errors(institution=inst, year=int(task_data["year"]))
    return ({"response": next(iter(errors.values()))} if errors else {}), {}


@register_service("institutions.disclosure_publish", replace=True)
def disclosure_publish(data: dict[str, Any]) -> dict[str, Any]:
    ctx = context.current()
    if ctx is None:
        raise ServiceError("公示申请必须在案件中运行")
    code, year, actor = data["institution"], int(data["year"]), ctx.actor
    comment = data.get("comment")
    context.after_save(lambda _id: disclosure.decide(
        institution=_institution(code), year=year, decision="approve", comment=comment,
        user=actor))
    return {"disclosed": True}
