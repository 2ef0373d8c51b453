"""Onboarding (R-6.5): an organisation's application, its review, the accepted data-use
agreement and the single-use invitation that provisions its administrator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crypto.fields import EncryptedField
from app.db import TimestampMixin, UidMixin
from app.extensions import db
from app.identity.scope import ScopeRule
from app.orgs.models import Enterprise

#: organisation type -> (Chinese name, role its members get, Institution.kind)
KINDS: dict[str, tuple[str, str]] = {
    "research": ("科研机构", "research"),
    "exchange": ("交易所", "exchange"),
    "public": ("公共机构", "institution"),
    "bank": ("银行", "bank"),
}
STATUSES = {
    "submitted": "待审核",
    "returned": "退回补充材料",
    "rejected": "已驳回",
    "approved": "已批准（待接受协议）",
    "active": "已开通",
    "suspended": "已暂停",
}


class Application(db.Model, UidMixin, TimestampMixin):
    """One organisation's request to join; after approval it is the organisation's record
    (the institution code is its USCC, so members' institution scope finds it)."""

    __tablename__ = "onboarding_application"
    __scope__ = ScopeRule(institution="uscc")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False)
    contact_name_enc: Mapped[str | None] = mapped_column(Text)
    contact_phone_enc: Mapped[str | None] = mapped_column(Text)
    contact_email_enc: Mapped[str | None] = mapped_column(Text)
    intended_use: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), default="submitted", nullable=False,
                                        index=True)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    source_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    agreement_version: Mapped[str | None] = mapped_column(String(20))
    agreement_text: Mapped[str | None] = mapped_column(Text)
    agreement_accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    admin_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime)
    suspend_reason: Mapped[str | None] = mapped_column(Text)
    #: the latest `institution_onboarding` instance (application, or re-activation review)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_instance.id"))
    #: a returned application's single-use link for the applicant's changes (SHA-256 only)
    resubmit_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    resubmit_expires_at: Mapped[datetime | None] = mapped_column(DateTime)

    contact_name = EncryptedField("contact_name_enc")
    contact_phone = EncryptedField("contact_phone_enc")
    contact_email = EncryptedField("contact_email_enc")

    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="application", cascade="all, delete-orphan",
        order_by="Invitation.id")

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind][0]

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)


class Invitation(db.Model):
    """A link that provisions the organisation's administrator: only its hash is stored,
    it expires and it works once."""

    __tablename__ = "onboarding_invitation"
    __scope__ = ScopeRule(via=("application_id", Application))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("onboarding_application.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    application: Mapped[Application] = relationship(back_populates="invitations")


class Consent(db.Model, UidMixin):
    """An enterprise lets one bank (or exchange) read its grade until it expires or is
    revoked. `bank_code` is the receiving organisation's code, a bank's or an exchange's."""

    __tablename__ = "onboarding_consent"
    __scope__ = ScopeRule(via=("enterprise_id", Enterprise))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    bank_code: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    # what the bank may read (comma-separated keys of `consent.ITEMS`)
    items: Mapped[str] = mapped_column(String(60), nullable=False, default="grade",
                                       server_default="grade")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    granted_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    enterprise: Mapped[Enterprise] = relationship()
    reads: Mapped[list[ConsentRead]] = relationship(
        back_populates="consent", cascade="all, delete-orphan", order_by="ConsentRead.id")


class ConsentRead(db.Model):
    """One read by the bank under a consent: what the enterprise sees as "who looked"."""

    __tablename__ = "onboarding_consent_read"
    __scope__ = ScopeRule(via=("consent_id", Consent))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consent_id: Mapped[int] = mapped_column(
        ForeignKey("onboarding_consent.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    user_email: Mapped[str | None] = mapped_column(String(255))
    read_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    what: Mapped[str] = mapped_column(String(40), nullable=False)

    consent: Mapped[Consent] = relationship(back_populates="reads")


REQUEST_STATUSES = {
    "submitted": "待审批",
    "returned": "退回修改",
    "rejected": "已驳回",
    "approved": "已批准（导出生成中）",
    "ready": "已生成导出",
}


class DataRequest(db.Model, UidMixin, TimestampMixin):
    """A research institute's request for aggregated, de-identified data (R-6.5.1): what it
    wants, why, and the platform's decision. The export it yields is `ResearchExport`."""

    __tablename__ = "research_data_request"
    __scope__ = ScopeRule(institution="institution_code")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_code: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    indicators: Mapped[str] = mapped_column(String(200), nullable=False)   # comma-separated
    regions: Mapped[str] = mapped_column(String(400), nullable=False)      # GB/T 2260 codes
    industries: Mapped[str] = mapped_column(String(400), nullable=False, default="")
    region_level: Mapped[str] = mapped_column(String(10), nullable=False)  # province|city|county
    period_from: Mapped[int] = mapped_column(Integer, nullable=False)      # yyyymm
    period_to: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="submitted")
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: its `research_data_request` process instance (review, amendments, approval)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_instance.id"))


class ResearchExport(db.Model, UidMixin):
    """The aggregated cells of an approved request, with the disclosure rules applied (the
    thresholds in force are kept with it). Rebuilt, never edited, on a new approval."""

    __tablename__ = "research_export"
    __scope__ = ScopeRule(via=("request_id", DataRequest))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("research_data_request.id", ondelete="CASCADE"), unique=True)
    min_enterprises: Mapped[int] = mapped_column(Integer, nullable=False)
    dominance: Mapped[str] = mapped_column(String(10), nullable=False)
    cells: Mapped[int] = mapped_column(Integer, nullable=False)
    suppressed: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)   # JSON: columns and rows
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class ResearchModel(db.Model, UidMixin, TimestampMixin):
    """A research institute's model given as parameters (CO2 = a + b · electricity per
    industry division), run by the platform against the current accounts of a region and
    period and compared with the accounted (GB/T 32150) figures."""

    __tablename__ = "research_model"
    __scope__ = ScopeRule(institution="institution_code")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_code: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    parameters: Mapped[str] = mapped_column(Text, nullable=False)   # JSON {division: {a, b}}
    region_code: Mapped[str] = mapped_column(String(6), nullable=False)
    period_from: Mapped[int] = mapped_column(Integer, nullable=False)
    period_to: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")
    result: Mapped[str | None] = mapped_column(Text)                # JSON metrics per division
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class ApplicationDocument(db.Model, UidMixin):
    """A qualification document of an application (licence, accreditation), SM4-GCM
    encrypted at rest; its type is decided by the platform from the content, never taken
    from the uploader."""

    __tablename__ = "onboarding_document"
    __scope__ = ScopeRule(via=("application_id", Application))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("onboarding_application.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(40), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)   # SM3 of the plaintext
    key_version: Mapped[int] = mapped_column(Integer, nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(db.LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
