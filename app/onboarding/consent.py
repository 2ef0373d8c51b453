"""Consent (green finance, R-6.5.2): an enterprise lets a bank (or an exchange: its grade
only) read what it chose — its grade
(with the changes since the consent), its account summary — for a limited time, revocable;
every read is audited and listed to the enterprise. A bank sees only enterprises whose
consent is live and covers what it asks for: anything else is "not found". No commits here."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from app.accounting.models import CarbonAccount, CarbonCode
from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.identity.datascope import DataScope
from app.identity.scope import scoped
from app.onboarding.models import Application, Consent, ConsentRead
from app.onboarding.service import ApplicationError
from app.orgs.models import Enterprise

MAX_DAYS = 366
#: what an enterprise may let a bank read
ITEMS = {"grade": "碳效等级及授权以来的等级变化",
         "summary": "碳账户年度摘要（排放、能耗、增加值、强度）"}


#: who may receive consent, and what each kind may be allowed to read
RECIPIENT_ITEMS = {"bank": ("grade", "summary"), "exchange": ("grade",)}


def banks() -> list[Application]:
    """Banks an enterprise may choose: onboarded and active."""
    return recipients(kind="bank")


def recipients(*, kind: str | None = None) -> list[Application]:
    """Organisations an enterprise may grant consent to (active banks and exchanges)."""
    kinds = [kind] if kind else list(RECIPIENT_ITEMS)
    return list(db.session.scalars(select(Application).where(
        Application.kind.in_(kinds), Application.status == "active")
        .order_by(Application.kind, Application.name)))


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


def _items(items: Any) -> list[str]:
    if items is None:
        return ["grade"]
    if isinstance(items, str):
        items = [i for i in items.split(",") if i]
    if not isinstance(items, list) or not items or not all(
            isinstance(i, str) and i in ITEMS for i in items):
        raise ApplicationError({"items": "授权内容应为 " + "、".join(
            f"{k}（{v}）" for k, v in ITEMS.items()) + " 中的一项或多项"})
    return sorted(set(items))


def grant(*, uscc: str, bank: str, days: Any, scope: DataScope,
          items: Any = None) -> Consent:
    """Grant (or extend, with what it covers now) the bank's consent; the enterprise must be
    in the caller's scope."""
    ent = db.session.scalar(scoped(select(Enterprise), Enterprise, scope)
                            .where(Enterprise.uscc == (uscc or "")))
    if ent is None:
        raise ApplicationError({"uscc": "企业不存在或不在您的数据范围内"}, status=404)
    recipient = next((r for r in recipients() if r.uscc == bank), None)
    if recipient is None:
        raise ApplicationError({"bank": "请选择已入驻的银行或交易所"})
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ApplicationError({"days": f"授权期限须为 1–{MAX_DAYS} 天的整数"})
    picked = _items(items)
    allowed = RECIPIENT_ITEMS[recipient.kind]
    if any(i not in allowed for i in picked):
        raise ApplicationError({"items": f"{recipient.kind_label}只能被授权查看："
                                + "、".join(ITEMS[i] for i in allowed)})
    chosen = ",".join(picked)
    now = utcnow()
    consent = db.session.scalar(select(Consent).where(
        Consent.enterprise_id == ent.id, Consent.bank_code == bank, _live()))
    if consent is None:
        consent = Consent(enterprise_id=ent.id, bank_code=bank, granted_at=now, items=chosen,
                          expires_at=now + timedelta(days=days), granted_by_id=_actor_id())
        db.session.add(consent)
    else:
        consent.expires_at, consent.items = now + timedelta(days=days), chosen
    db.session.flush()
    audit.record("consent.grant", object_type="onboarding_consent", object_id=consent.id,
                 summary={"enterprise": ent.uscc, "bank": bank, "days": days,
                          "recipient_kind": recipient.kind, "items": chosen.split(",")})
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


def _consent_for(*, bank: Application, uscc: str, item: str) -> Consent | None:
    return db.session.scalar(
        select(Consent).join(Enterprise, Enterprise.id == Consent.enterprise_id)
        .where(Enterprise.uscc == uscc, Consent.bank_code == bank.uscc, _live(),
               Consent.items.contains(item, autoescape=True)))


def _read(consent: Consent, *, bank: Application, user: Any, what: str) -> None:
    consent.reads.append(ConsentRead(user_id=user.id, user_email=user.email,
                                     read_at=utcnow(), what=what))
    audit.record("consent.read", object_type="onboarding_consent", object_id=consent.id,
                 summary={"enterprise": consent.enterprise.uscc, "bank": bank.uscc,
                          "what": what})


def _changes(consent: Consent) -> list[dict[str, Any]]:
    """Every code issued since the consent whose grade differs from the one it replaced (or
    that graded a new period), oldest first."""
    rows = db.session.scalars(select(CarbonCode).where(
        CarbonCode.enterprise_id == consent.enterprise_id).order_by(CarbonCode.issued_at,
                                                                    CarbonCode.id)).all()
    before: dict[tuple[str, str], CarbonCode] = {}
    out = []
    for c in rows:
        key = (c.scheme_id, c.period_key)
        prev = before.get(key)
        before[key] = c
        if c.issued_at < consent.granted_at:
            continue
        old = (prev.grade_label if prev.graded else "未评级") if prev else None
        new = c.grade_label if c.graded else "未评级"
        if old != new:
            out.append({"period": c.period_key, "scheme": c.scheme_id, "from": old,
                        "to": new, "at": c.issued_at.isoformat() + "Z"})
    return out


def read_grade(*, bank: Application, uscc: str, user: Any) -> dict | None:
    """The enterprise's current grades and their changes since the consent, or None when no
    live consent lets this bank read the grade."""
    consent = _consent_for(bank=bank, uscc=uscc, item="grade")
    if consent is None:
        return None
    _read(consent, bank=bank, user=user, what="grade")
    codes = db.session.scalars(select(CarbonCode).where(
        CarbonCode.enterprise_id == consent.enterprise_id, CarbonCode.is_current.is_(True))
        .order_by(CarbonCode.period_key.desc()).limit(24))
    ent = consent.enterprise
    return {"uscc": ent.uscc, "name": ent.name,
            "consent_expires_at": consent.expires_at.isoformat() + "Z",
            "consent_items": consent.items.split(","),
            "grades": [{"period": c.period_key, "period_type": c.period_type,
                        "grade": c.grade, "grade_label": c.grade_label, "graded": c.graded,
                        "reason": c.reason, "scheme": c.scheme_id} for c in codes],
            "changes_since_consent": _changes(consent)}


def read_certificate(*, bank: Application, uscc: str, user: Any,
                     year: int | None = None):
    """The signed grade certificate (issued or reused), when a live consent covers the
    grade; else None and the refusal is audited (`consent.refused`, kept on rollback).
    Raises `certificate.CertificateError` when there is no annual code to certify."""
    from app.onboarding import certificate
    from app.uow import refused

    consent = _consent_for(bank=bank, uscc=uscc, item="grade")
    if consent is None:
        refused("consent.refused", object_type="enterprise", user=user,
                summary={"enterprise": uscc, "bank": bank.uscc, "what": "certificate"})
        return None
    doc = certificate.issue(enterprise=consent.enterprise, year=year, trigger="bank")
    _read(consent, bank=bank, user=user, what="certificate")
    return doc


def read_summary(*, bank: Application, uscc: str, user: Any) -> dict | None:
    """Annual totals of the enterprise's current carbon accounts (the last three years),
    or None when no live consent lets this bank read the summary."""
    consent = _consent_for(bank=bank, uscc=uscc, item="summary")
    if consent is None:
        return None
    _read(consent, bank=bank, user=user, what="summary")
    A = CarbonAccount
    rows = db.session.execute(select(
        A.year, func.count(), func.sum(A.co2_total), func.sum(A.energy_tce),
        func.sum(A.value_added)).where(A.enterprise_id == consent.enterprise_id,
                                       A.is_current.is_(True))
        .group_by(A.year).order_by(A.year.desc()).limit(3)).all()
    years = []
    for year, months, co2, tce, va in rows:
        intensity = (Decimal(co2) / Decimal(va)).quantize(Decimal("0.000001"), ROUND_HALF_UP) \
            if va else None
        years.append({"year": year, "months": months, "co2_t": str(co2),
                      "energy_tce": str(tce) if tce is not None else None,
                      "value_added_10k_yuan": str(va) if va is not None else None,
                      "intensity_t_per_10k_yuan": str(intensity) if intensity else None})
    ent = consent.enterprise
    return {"uscc": ent.uscc, "name": ent.name, "years": years,
            "consent_expires_at": consent.expires_at.isoformat() + "Z"}


def as_json(c: Consent) -> dict[str, Any]:
    org = db.session.execute(select(Application.name, Application.kind).where(
        Application.uscc == c.bank_code, Application.kind.in_(list(RECIPIENT_ITEMS)))
        .order_by(Application.id.desc())).first()
    bank, kind = (org[0], org[1]) if org else (None, None)
    now = utcnow()
    state = "revoked" if c.revoked_at else ("expired" if c.expires_at <= now else "active")
    return {"id": c.uid, "enterprise": c.enterprise.uscc, "bank": c.bank_code,
            "bank_name": bank, "recipient_kind": kind, "state": state, "items": c.items.split(","),
            "granted_at": c.granted_at.isoformat() + "Z",
            "expires_at": c.expires_at.isoformat() + "Z",
            "revoked_at": c.revoked_at.isoformat() + "Z" if c.revoked_at else None,
            "reads": [{"at": r.read_at.isoformat() + "Z", "by": r.user_email, "what": r.what}
                      for r in c.reads]}
