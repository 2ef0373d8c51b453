"""Third-party verification (ISO 14064-3) of an enterprise's yearly report.

One `Verification` row per verification case (process `third_party_verification`): the
body assigned to it while it is assigned (`body_code`, the same party as the case's
`verification_body_code`), the team, the plan, the evidence (`VerificationCheck`, the
site visit), the findings and the conclusion. Statements are signed with the body's own
SM2 key (`app.crypto.signing.org_key`, certified by the platform key) and kept in the
document store (`app.documents`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UidMixin, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule

#: what a verifier, the region's government and the enterprise see of a verification
VERIFICATION_SCOPE = ScopeRule(
    region="region_code", enterprise="enterprise_uscc", verification_body="body_code"
)

STATUSES = {
    "requested": "待指派",
    "assigned": "待核查机构接受",
    "accepted": "待制定计划",
    "fieldwork": "核查实施",
    "findings": "不符合项整改",
    "conclusion": "核查结论",
    "review": "独立复核",
    "completed": "已出具核查声明",
}


class Verification(db.Model):
    __tablename__ = "verification"
    __scope__ = VERIFICATION_SCOPE
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_instance.id"), unique=True, nullable=False
    )
    report_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_instance.id"), index=True
    )
    enterprise_uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    region_code: Mapped[str | None] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    body_code: Mapped[str | None] = mapped_column(String(18), index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="requested")
    reason: Mapped[str | None] = mapped_column(String(300))  # why verification is required
    lead_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    team: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON user ids
    reviewer_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    level: Mapped[str | None] = mapped_column(String(12))  # reasonable | limited
    materiality_pct: Mapped[str | None] = mapped_column(String(12))  # Decimal as text
    risks: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON
    sampling: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON
    reported: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON
    corrected: Mapped[str | None] = mapped_column(Text)  # JSON
    verified: Mapped[str | None] = mapped_column(Text)  # JSON
    difference_reasons: Mapped[str | None] = mapped_column(Text)
    material: Mapped[bool | None] = mapped_column(Boolean)
    opinion: Mapped[str | None] = mapped_column(String(12))  # unqualified|qualified|adverse
    site_visit_date: Mapped[date | None] = mapped_column(Date)
    site_people: Mapped[str | None] = mapped_column(Text)
    site_notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)


class VerificationAssignment(db.Model):
    """Every assignment decision: assigned, accepted, declined (with reason), refused."""

    __tablename__ = "verification_assignment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verification_id: Mapped[int] = mapped_column(
        ForeignKey("verification.id", ondelete="CASCADE"), index=True
    )
    body_code: Mapped[str] = mapped_column(String(18), nullable=False)
    outcome: Mapped[str] = mapped_column(String(12), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class BodyConflict(db.Model):
    """A declared conflict of interest between a body and an enterprise (利益冲突声明)."""

    __tablename__ = "verification_conflict"
    __table_args__ = (UniqueConstraint("body_code", "enterprise_uscc"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_code: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    enterprise_uscc: Mapped[str] = mapped_column(String(18), nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    declared_by: Mapped[str | None] = mapped_column(String(200))
    declared_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class VerificationCheck(db.Model):
    """Document review of one source in one month: checked, or a finding."""

    __tablename__ = "verification_check"
    __table_args__ = (UniqueConstraint("verification_id", "source", "month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verification_id: Mapped[int] = mapped_column(
        ForeignKey("verification.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    month: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # checked | finding
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Finding(db.Model):
    """A non-conformity raised to the enterprise: open → answered → closed | kept."""

    __tablename__ = "verification_finding"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verification_id: Mapped[int] = mapped_column(
        ForeignKey("verification.id", ondelete="CASCADE"), index=True
    )
    requirement: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    response: Mapped[str | None] = mapped_column(Text)
    corrected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    decision_note: Mapped[str | None] = mapped_column(Text)
    raised_by: Mapped[int | None] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class Statement(db.Model, UidMixin):
    """A verification statement: the verification's facts here, the signed PDF in the
    platform's document store (`app.documents`, kind `verification_statement`), signed
    with the body's own key (`signing.org_key`, certified by the platform key)."""

    __tablename__ = "verification_statement"
    __scope__ = VERIFICATION_SCOPE
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verification_id: Mapped[int] = mapped_column(
        ForeignKey("verification.id"), unique=True, nullable=False
    )
    report_instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    body_code: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    enterprise_uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    region_code: Mapped[str | None] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    opinion: Mapped[str] = mapped_column(String(12), nullable=False)
    level: Mapped[str] = mapped_column(String(12), nullable=False)
    verified_total: Mapped[str] = mapped_column(String(40), nullable=False)
    document_id: Mapped[str] = mapped_column(ForeignKey("document.id"), nullable=False, index=True)
    signed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
