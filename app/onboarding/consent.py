"""Bank consent (green finance): an enterprise lets a bank read its grade for a limited time,
revocable; every read is audited and listed to the enterprise. A bank sees only enterprises
whose consent is live: anything else is "not found". No commits here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.accounting.models import CarbonCode
from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.identity.datascope import DataScope
from app.identity.scope import scoped
from app.onboarding.models import Application, Consent, ConsentRead
from app.onboarding.service import ApplicationError
from app.orgs.models import Enterprise

MAX_DAYS = 366


def banks() -> list[Application]:
    """Banks an enterprise may choose: onboarded and active."""
    return list(db.session.scalars(select(Application).where(
        Application.kind == "bank", Application.status == "active").order_by(Application.name)))


def bank_of(scope: DataScope) -> Application | None:
    """The caller's bank (an active bank whose code is in the caller's institution scope)."""
    if not scope.institution:
        return None
    return db.session.scalar(select(Application).where(
        Application.kind == "bank", Application.status == "active",
        Application.uscc.in_(scope.institution)))


def _live():
    now = utcnow()
    return (Consent.revoked_at.is_(None)) & (Consent.expires_at > now)


def grant(*, uscc: str, bank: str, days: Any, scope: DataScope) -> Consent:
    """Grant (or extend) the bank's consent; the enterprise must be in the caller's scope."""
    ent = db.session.scalar(scoped(select(Enterprise), Enterprise, scope)
                            .where(Enterprise.uscc == (uscc or "")))
    if ent is None:
        raise ApplicationError({"uscc": "企业不存在或不在您的数据范围内"}, status=404)
    if bank not in {b.uscc for b in banks()}:
        raise ApplicationError({"bank": "请选择已入驻的银行"})
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ApplicationError({"days": f"授权期限须为 1–{MAX_DAYS} 天的整数"})
    now = utcnow()
    consent = db.session.scalar(select(Consent).where(
        Consent.enterprise_id == ent.id, Consent.bank_code == bank, _live()))
    if consent is None:
        consent = Consent(enterprise_id=ent.id, bank_code=bank, granted_at=now,
                          expires_at=now + timedelta(days=days), granted_by_id=_actor_id())
        db.session.add(consent)
    else:
        consent.expires_at = now + timedelta(days=days)
    db.session.flush()
    audit.record("consent.grant", object_type="onboarding_consent", object_id=consent.id,
                 summary={"enterprise": ent.uscc, "bank": bank, "days": days})
    return consent


def _actor_id() -> int | None:
    from flask import has_request_context
    from flask_security import current_user

    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def list_for_enterprise(*, scope: DataScope) -> list[Consent]:
    return list(db.session.scalars(scoped(select(Consent), Consent, scope)
                                   .order_by(Consent.id.desc()).limit(200)))


def get(*, uid: str, scope: DataScope) -> Consent | None:
    return db.session.scalar(scoped(select(Consent), Consent, scope).where(Consent.uid == uid))


def revoke(consent: Consent) -> None:
    if consent.revoked_at is None:
        consent.revoked_at = utcnow()
        audit.record("consent.revoke", object_type="onboarding_consent",
                     object_id=consent.id, summary={"bank": consent.bank_code})


def consenting(*, bank: Application) -> list[Enterprise]:
    return list(db.session.scalars(
        select(Enterprise).join(Consent, Consent.enterprise_id == Enterprise.id)
        .where(Consent.bank_code == bank.uscc, _live()).order_by(Enterprise.name)))


def read_grade(*, bank: Application, uscc: str, user: Any) -> dict | None:
    """The enterprise's current grades, or None when no live consent covers this bank."""
    consent = db.session.scalar(
        select(Consent).join(Enterprise, Enterprise.id == Consent.enterprise_id)
        .where(Enterprise.uscc == uscc, Consent.bank_code == bank.uscc, _live()))
    if consent is None:
        return None
    consent.reads.append(ConsentRead(user_id=user.id, user_email=user.email,
                                     read_at=utcnow(), what="grade"))
    audit.record("consent.read", object_type="onboarding_consent", object_id=consent.id,
                 summary={"enterprise": uscc, "bank": bank.uscc, "what": "grade"})
    codes = db.session.scalars(select(CarbonCode).where(
        CarbonCode.enterprise_id == consent.enterprise_id, CarbonCode.is_current.is_(True))
        .order_by(CarbonCode.period_key.desc()).limit(24))
    ent = consent.enterprise
    return {"uscc": ent.uscc, "name": ent.name,
            "consent_expires_at": consent.expires_at.isoformat() + "Z",
            "grades": [{"period": c.period_key, "period_type": c.period_type,
                        "grade": c.grade, "grade_label": c.grade_label, "graded": c.graded,
                        "reason": c.reason, "scheme": c.scheme_id} for c in codes]}


def as_json(c: Consent) -> dict[str, Any]:
    bank = db.session.scalar(select(Application.name).where(Application.uscc == c.bank_code,
                                                            Application.kind == "bank"))
    now = utcnow()
    state = "revoked" if c.revoked_at else ("expired" if c.expires_at <= now else "active")
    return {"id": c.uid, "enterprise": c.enterprise.uscc, "bank": c.bank_code,
            "bank_name": bank, "state": state,
            "granted_at": c.granted_at.isoformat() + "Z",
            "expires_at": c.expires_at.isoformat() + "Z",
            "revoked_at": c.revoked_at.isoformat() + "Z" if c.revoked_at else None,
            "reads": [{"at": r.read_at.isoformat() + "Z", "by": r.user_email, "what": r.what}
                      for r in c.reads]}
