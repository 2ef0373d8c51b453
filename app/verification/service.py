"""The public face of verification: reading a verification within the caller's scope, the
team rules, and the steps of the process that change the verification row (assignment,
acceptance, plan, conclusion). No Flask request here and no commit: the workflow action or
the view commits.

Who may do what: the government (lane `reviewer`) assigns; any verifier of the assigned
body may take the acceptance task and becomes its lead; the plan, the evidence and the
conclusion are the team's (the lead and the verifiers the lead named); the independent
review is a verifier of the same body who is not on the team. Every refusal is audited
(`app.uow.refused`, written even though the refused change rolls back).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.db import utcnow
from app.extensions import db
from app.identity.models import Role, User
from app.identity.scope import scope_clause, scope_for
from app.orgs.models import Enterprise, VerificationBody
from app.uow import refused
from app.verification import rules
from app.verification.models import Statement, Verification, VerificationAssignment
from app.workflow.errors import Forbidden, NotFound
from app.workflow.models import ProcessInstance

PROCESS = "third_party_verification"


def _json(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


def team_ids(v: Verification) -> list[int]:
    return [int(i) for i in _json(v.team, [])]


def get_by_instance(*, instance_id: int) -> Verification | None:
    return db.session.scalar(select(Verification).where(Verification.instance_id == instance_id))


def get_by_report(*, report_instance_id: int) -> Verification | None:
    return db.session.scalars(
        select(Verification)
        .where(Verification.report_instance_id == report_instance_id)
        .order_by(Verification.id.desc())
    ).first()


def get(*, verification_id: int, user: Any) -> Verification:
    """A verification the user's scope covers; a verifier's only while its body is assigned
    (anything else: NotFound, the same answer as a forged id)."""
    v = db.session.scalar(
        select(Verification).where(
            Verification.id == verification_id, scope_clause(Verification, scope_for(user))
        )
    )
    if v is None:
        raise NotFound("核查案件不存在或不在您的数据范围内")
    return v


def list_for(*, user: Any, status: str | None = None, limit: int = 200) -> list[Verification]:
    stmt = select(Verification).where(scope_clause(Verification, scope_for(user)))
    if status == "open":
        stmt = stmt.where(Verification.status != "completed")
    elif status:
        stmt = stmt.where(Verification.status == status)
    return list(db.session.scalars(stmt.order_by(Verification.id.desc()).limit(limit)))


def statements_for(*, user: Any, limit: int = 200) -> list[Statement]:
    return list(
        db.session.scalars(
            select(Statement)
            .where(scope_clause(Statement, scope_for(user)))
            .order_by(Statement.id.desc())
            .limit(limit)
        )
    )


def body_members(*, body_code: str) -> list[User]:
    """Active verifiers whose scope names the body (its team pool)."""
    users = (
        db.session.scalars(
            select(User)
            .join(User.roles)
            .where(Role.name == "verifier", User.active.is_(True))
            .options(selectinload(User.roles), selectinload(User.scopes))
        )
        .unique()
        .all()
    )
    return [u for u in users if body_code in scope_for(u).verification_body]


def user_bodies(user: Any) -> tuple[str, ...]:
    return scope_for(user).verification_body


def require_team(v: Verification, user: Any, action: str) -> None:
    """The team's steps: the lead and the named verifiers only (refusal audited)."""
    if getattr(user, "id", None) not in team_ids(v):
        refused(
            "verification.refused",
            object_type="verification",
            object_id=v.id,
            user=user,
            summary={"action": action, "reason": "not_on_team"},
        )
        raise Forbidden("只有本案核查组成员可以办理此步骤")


# ---- the process steps -----------------------------------------------------------------


def create(
    *,
    instance_id: int,
    report_instance_id: int | None,
    enterprise: Enterprise,
    year: int,
    reason: str,
) -> Verification:
    v = Verification(
        instance_id=instance_id,
        report_instance_id=report_instance_id,
        enterprise_uscc=enterprise.uscc,
        region_code=enterprise.region_code,
        year=year,
        reason=reason[:300],
        status="requested",
        reported=json.dumps(rules.reported(enterprise=enterprise, year=year)),
    )
    db.session.add(v)
    db.session.flush()
    return v


def set_case_body(*, instance_id: int, body_code: str | None) -> None:
    """The case's verification-body party (its tasks get it when they are created)."""
    db.session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .values(verification_body_code=body_code)
        .execution_options(synchronize_session=False)
    )
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is not None:
        set_committed_value(inst, "verification_body_code", body_code)


def assignment_errors(*, v: Verification, body_code: str, user: Any) -> dict[str, str]:
    """Field errors of an assignment (refusals audited)."""
    body = db.session.scalar(select(VerificationBody).where(VerificationBody.code == body_code))
    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == v.enterprise_uscc))
    why = rules.assignment_refusal(body=body, enterprise=ent, year=v.year)
    if why is None:
        return {}
    refused(
        "verification.assignment.refused",
        object_type="verification",
        object_id=v.id,
        user=user,
        summary={"body": body_code, "reason": why},
    )
    return {"body_code": why}


def assign(*, v: Verification, body_code: str, user: Any) -> None:
    v.body_code = body_code
    v.status = "assigned"
    set_case_body(instance_id=v.instance_id, body_code=body_code)
    db.session.add(
        VerificationAssignment(
            verification_id=v.id,
            body_code=body_code,
            outcome="assigned",
            user_id=getattr(user, "id", None),
        )
    )


def parse_team(*, v: Verification, lead: Any, text: str | None) -> tuple[list[int], str | None]:
    """The team = the lead plus the verifiers of the body named (e-mails, one per line or
    comma separated); an error message names who is not a verifier of the body."""
    members = {u.email.lower(): u for u in body_members(body_code=v.body_code or "")}
    ids = [lead.id]
    bad = []
    for raw in (text or "").replace("，", ",").replace("\n", ",").split(","):
        email = raw.strip().lower()
        if not email:
            continue
        user = members.get(email)
        if user is None:
            bad.append(raw.strip())
        elif user.id not in ids:
            ids.append(user.id)
    if bad:
        return ids, "以下人员不是本核查机构的核查员：" + "、".join(bad)
    return ids, None


def accept(*, v: Verification, lead: Any, team: list[int]) -> None:
    v.lead_user_id = lead.id
    v.team = json.dumps(team)
    v.status = "accepted"
    db.session.add(
        VerificationAssignment(
            verification_id=v.id, body_code=v.body_code or "", outcome="accepted", user_id=lead.id
        )
    )


def decline(*, v: Verification, user: Any, reason: str) -> None:
    """The body declines: it no longer sees the case; the government assigns again."""
    db.session.add(
        VerificationAssignment(
            verification_id=v.id,
            body_code=v.body_code or "",
            outcome="declined",
            reason=reason,
            user_id=getattr(user, "id", None),
        )
    )
    v.body_code = None
    v.lead_user_id = None
    v.team = "[]"
    v.status = "requested"
    set_case_body(instance_id=v.instance_id, body_code=None)


def decimal_or_none(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def save_plan(
    *, v: Verification, level: str, materiality: Decimal, risks: dict[str, str]
) -> dict[str, Any]:
    """The plan, with the sampling the platform proposes from the reported figures."""
    figures = _json(v.reported, {"sources": {}, "total": "0"})
    sampling = rules.propose_sampling(figures)
    v.level = level
    v.materiality_pct = str(materiality)
    v.risks = json.dumps(risks, ensure_ascii=False)
    v.sampling = json.dumps(sampling)
    v.status = "fieldwork"
    return sampling


def history(*, v: Verification) -> list[VerificationAssignment]:
    return list(
        db.session.scalars(
            select(VerificationAssignment)
            .where(VerificationAssignment.verification_id == v.id)
            .order_by(VerificationAssignment.id)
        )
    )


def mark_completed(*, v: Verification) -> None:
    v.status = "completed"
    v.completed_at = utcnow()
