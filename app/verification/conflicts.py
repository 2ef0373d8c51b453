"""Declared conflicts of interest between a verification body and an enterprise: a
verifier declares them for its own body; assignment refuses such a body (`rules`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.extensions import db
from app.identity.scope import scope_for
from app.orgs.models import Enterprise
from app.uow import refused
from app.verification.models import BodyConflict
from app.workflow.errors import Conflict, Forbidden, Invalid


def declare(*, user: Any, body_code: str, enterprise_uscc: str, reason: str) -> BodyConflict:
    body_code, uscc, reason = body_code.strip(), enterprise_uscc.strip(), reason.strip()
    if body_code not in scope_for(user).verification_body:
        refused(
            "verification.refused",
            object_type="verification_conflict",
            user=user,
            summary={"action": "declare_conflict", "body": body_code, "reason": "other_body"},
        )
        raise Forbidden("只能为本人所属核查机构声明利益冲突")
    errors = {}
    if db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc)) is None:
        errors["enterprise_uscc"] = "企业不存在（请填写统一社会信用代码）"
    if not reason:
        errors["reason"] = "必填：利益冲突的情形"
    if errors:
        raise Invalid("利益冲突声明校验未通过", fields=errors)
    if db.session.scalar(
        select(BodyConflict).where(
            BodyConflict.body_code == body_code, BodyConflict.enterprise_uscc == uscc
        )
    ):
        raise Conflict("已声明过与该企业的利益冲突", code="conflict_exists")
    row = BodyConflict(
        body_code=body_code,
        enterprise_uscc=uscc,
        reason=reason[:500],
        declared_by=getattr(user, "email", None),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "verification.conflict.declare",
        object_type="verification_conflict",
        object_id=row.id,
        user=user,
        summary={"body": body_code, "enterprise": uscc},
    )
    return row


def list_for(*, body_codes: tuple[str, ...] | list[str]) -> list[BodyConflict]:
    if not body_codes:
        return []
    return list(
        db.session.scalars(
            select(BodyConflict)
            .where(BodyConflict.body_code.in_(list(body_codes)))
            .order_by(BodyConflict.id.desc())
        )
    )
