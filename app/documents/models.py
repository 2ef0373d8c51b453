"""The document store: every generated document (accounting reports, verification
statements, later certificates) as one row with its PDF bytes, digests and signatures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.db import new_uid, utcnow
from app.extensions import db
from app.identity.scope import ScopeRule

#: pending: a job is building it; ready: signed and stored; failed: the job gave up
STATUSES = {"pending": "生成中", "ready": "已签发", "failed": "生成失败"}

#: kinds known to the pages (any other kind is stored and shown by its code)
KINDS = {
    "carbon_report": "温室气体排放报告",
    "verification_statement": "核查声明",
    "certificate": "证书",
    "factor_check_statement": "电碳因子核验声明",
    "grade_certificate": "碳效等级证明",
    "reduction_certificate": "减排量核证证书",
}


class Document(db.Model):
    """One version of one document. `id` is a random 32-hex string: it is printed in the
    QR code and on the public verification page, so it must not be guessable or reveal
    how many documents exist. The PDF signature (`signature`, DER SM2 over the PDF bytes)
    is what OpenSSL checks; `meta_signature` signs the row's facts (kind, subject, period,
    version, digests, key, time) so that editing them in the database is detected too."""

    __tablename__ = "document"
    __scope__ = ScopeRule(
        region="region_code", enterprise="enterprise_uscc", verification_body="verification_body"
    )
    __table_args__ = (
        UniqueConstraint(
            "kind", "subject_type", "subject_id", "period", "version", name="uq_document_version"
        ),
        Index("ix_document_subject", "subject_type", "subject_id", "kind", "period"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    subject_type: Mapped[str] = mapped_column(String(40), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(64), nullable=False)
    subject_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: scope columns (who may list and download it); the verify page is public
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    verification_body: Mapped[str | None] = mapped_column(String(18), index=True)
    period: Mapped[str] = mapped_column(String(20), nullable=False)  # "2025" or "2025-03"
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    issuer: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: why it was made (e.g. "submitted", "published", "accounts changed") and its inputs
    trigger: Mapped[str | None] = mapped_column(String(40))
    source_key: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[str | None] = mapped_column(Text)  # JSON: what the job builds from
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    size: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    sm3: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    meta_signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    signer_key_id: Mapped[str | None] = mapped_column(String(40))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime)
    superseded_by: Mapped[str | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL", name="fk_document_superseded_by")
    )
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        if self.status == "ready" and self.superseded_by:
            return "已被新版本取代"
        return STATUSES.get(self.status, self.status)
