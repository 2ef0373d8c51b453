"""Evidence and findings of a verification: the document review per source and month, the
site visit, and the non-conformities (raised by the team, answered by the enterprise,
closed or kept by the team). Site-visit files are the case's encrypted attachments
(`app.workflow.attachments`, task `fieldwork`).

Every function takes the acting user and checks it (team / enterprise of the case);
refusals are audited and raise the workflow's errors (their HTTP status).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.identity.scope import scope_for
from app.uow import refused
from app.verification import rules
from app.verification.models import Finding, Verification, VerificationCheck
from app.verification.service import require_team
from app.workflow.errors import Conflict, Forbidden, Invalid

CHECK_STATUSES = {"checked": "已核对", "finding": "发现问题"}
FINDING_STATUSES = {
    "open": "待企业答复",
    "answered": "企业已答复",
    "closed": "已关闭",
    "kept": "保留",
}


def _open_for_evidence(v: Verification) -> None:
    if v.status not in ("fieldwork", "findings"):
        raise Conflict("核查不处于实施阶段，不能记录证据", code="wrong_stage")


def record_check(
    *, v: Verification, user: Any, source: str, month: Any, status: str, note: str | None = None
) -> VerificationCheck:
    require_team(v, user, "check")
    _open_for_evidence(v)
    errors: dict[str, str] = {}
    if source not in rules.SOURCE_LABELS:
        errors["source"] = "排放源必须是：" + "、".join(rules.SOURCE_LABELS.values())
    try:
        month = int(month)
        if not 1 <= month <= 12:
            errors["month"] = "月份应在 1–12 之间"
    except (TypeError, ValueError):
        errors["month"] = "月份必须是整数"
    if status not in CHECK_STATUSES:
        errors["status"] = "结果必须是「已核对」或「发现问题」"
    if status == "finding" and not (note or "").strip():
        errors["note"] = "发现问题时必须说明"
    if errors:
        raise Invalid("核对记录校验未通过", fields=errors)
    row = db.session.scalar(
        select(VerificationCheck).where(
            VerificationCheck.verification_id == v.id,
            VerificationCheck.source == source,
            VerificationCheck.month == month,
        )
    )
    if row is None:
        row = VerificationCheck(verification_id=v.id, source=source, month=month, status=status)
        db.session.add(row)
    row.status, row.note, row.user_id, row.at = status, (note or None), user.id, utcnow()
    db.session.flush()
    audit.record(
        "verification.check",
        object_type="verification",
        object_id=v.id,
        user=user,
        summary={"source": source, "month": month, "status": status},
    )
    return row


def checks(*, v: Verification) -> list[VerificationCheck]:
    return list(
        db.session.scalars(
            select(VerificationCheck)
            .where(VerificationCheck.verification_id == v.id)
            .order_by(VerificationCheck.source, VerificationCheck.month)
        )
    )


def missing_checks(*, v: Verification) -> list[tuple[str, int]]:
    """(source, month) pairs of the sampling plan not yet reviewed."""
    plan = json.loads(v.sampling or "{}")
    done = {(c.source, c.month) for c in checks(v=v)}
    return [
        (src, m)
        for src, p in plan.items()
        for m in p.get("months", [])
        if (src, int(m)) not in done
    ]


def raise_finding(
    *, v: Verification, user: Any, requirement: str, description: str, due_date: Any
) -> Finding:
    require_team(v, user, "finding")
    _open_for_evidence(v)
    errors: dict[str, str] = {}
    if not (requirement or "").strip():
        errors["requirement"] = "必填：不符合的要求（标准条款或指南条目）"
    if not (description or "").strip():
        errors["description"] = "必填：不符合的事实描述"
    due = None
    try:
        due = due_date if isinstance(due_date, date) else date.fromisoformat(str(due_date))
        if due < date.today():
            errors["due_date"] = "整改期限不能早于今天"
    except (TypeError, ValueError):
        errors["due_date"] = "日期格式应为 YYYY-MM-DD"
    if errors:
        raise Invalid("不符合项校验未通过", fields=errors)
    row = Finding(
        verification_id=v.id,
        requirement=requirement.strip()[:300],
        description=description.strip(),
        due_date=due,
        raised_by=user.id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "verification.finding.raise",
        object_type="verification_finding",
        object_id=row.id,
        user=user,
        summary={"verification": v.id, "requirement": row.requirement, "due": due.isoformat()},
    )
    return row


def findings(*, v: Verification) -> list[Finding]:
    return list(
        db.session.scalars(
            select(Finding).where(Finding.verification_id == v.id).order_by(Finding.id)
        )
    )


def _finding(v: Verification, finding_id: Any) -> Finding:
    row = db.session.get(Finding, int(finding_id)) if str(finding_id).isdigit() else None
    if row is None or row.verification_id != v.id:
        raise Invalid("不符合项不存在", fields={"finding_id": "不存在"})
    return row


def answer_finding(
    *, v: Verification, user: Any, finding_id: Any, response: str, corrected: bool = False
) -> Finding:
    """The enterprise answers (and says whether it corrected its records: the account
    recomputes through the ordinary record corrections)."""
    if v.enterprise_uscc not in scope_for(user).enterprise:
        refused(
            "verification.refused",
            object_type="verification",
            object_id=v.id,
            user=user,
            summary={"action": "answer", "reason": "not_the_enterprise"},
        )
        raise Forbidden("只有被核查企业可以答复不符合项")
    row = _finding(v, finding_id)
    if row.status not in ("open", "answered"):
        raise Conflict("该不符合项已处理，不能再答复", code="finding_closed")
    if not (response or "").strip():
        raise Invalid("答复校验未通过", fields={"response": "必填：整改情况或说明"})
    row.response, row.corrected = response.strip(), bool(corrected)
    row.status, row.answered_at = "answered", utcnow()
    db.session.flush()
    audit.record(
        "verification.finding.answer",
        object_type="verification_finding",
        object_id=row.id,
        user=user,
        summary={"corrected": row.corrected},
    )
    return row


def decide_finding(
    *, v: Verification, user: Any, finding_id: Any, decision: str, note: str | None = None
) -> Finding:
    """The team closes a finding or keeps it (a kept one weighs on the opinion)."""
    require_team(v, user, "decide_finding")
    row = _finding(v, finding_id)
    if decision not in ("closed", "kept"):
        raise Invalid("处理结论校验未通过", fields={"decision": "必须是「关闭」或「保留」"})
    if row.status == "open":
        raise Conflict("企业尚未答复该不符合项", code="not_answered")
    if decision == "kept" and not (note or "").strip():
        raise Invalid("处理结论校验未通过", fields={"note": "保留不符合项时必须说明理由"})
    row.status, row.decision_note, row.decided_at = decision, note or None, utcnow()
    db.session.flush()
    audit.record(
        "verification.finding.decide",
        object_type="verification_finding",
        object_id=row.id,
        user=user,
        summary={"decision": decision},
    )
    return row


def before_after(*, v: Verification) -> list[dict[str, str]]:
    """Reported figures when verification began beside the current (corrected) ones."""
    before = json.loads(v.reported or "{}").get("sources", {})
    after = json.loads(v.corrected or "null")
    after = after.get("sources", {}) if after else {}
    out = []
    for key, _, label in rules.SOURCES:
        b = before.get(key, {}).get("total", "0")
        out.append(
            {
                "source": key,
                "label": label,
                "before": b,
                "after": after.get(key, {}).get("total", b) if after else b,
            }
        )
    return out
