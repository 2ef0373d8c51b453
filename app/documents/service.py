"""The document store's public face: request a document (a job builds it), store and sign
a finished PDF, read documents within a scope, and verify one.

Every document is signed twice by the same signer (the platform key by default, or an
organisation's certified key): `signature` over the PDF bytes (what OpenSSL checks with the
published public key) and `meta_signature` over the row's facts, so neither the PDF nor the
facts shown on the verification page can be edited in the database unnoticed. A newer
version of the same (kind, subject, period) supersedes the older ones; they stay readable.
Flushes, never commits: the caller's unit of work commits (views, API, jobs, CLI).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import func, select

from app.audit.service import record as audit
from app.crypto import signing
from app.crypto.hashing import sm3
from app.db import new_uid, utcnow
from app.documents.models import KINDS, Document
from app.extensions import db
from app.identity.scope import DataScope, scoped
from app.jobs.outbox import enqueue

ISSUER = "工业碳效码平台"
BUILD_JOB = "documents.build"
ALL = DataScope(all=True)


class DocumentError(ValueError):
    """A refused request; `field` names the offending argument."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Subject:
    """What a document is about, and the scope columns that decide who may read it."""

    type: str
    id: str
    name: str = ""
    enterprise_uscc: str | None = None
    region_code: str | None = None
    verification_body: str | None = None


def enterprise_subject(enterprise: Any, *, verification_body: str | None = None) -> Subject:
    """The subject of an enterprise's document: its USCC, name and region."""
    return Subject(
        type="enterprise",
        id=enterprise.uscc,
        name=enterprise.name,
        enterprise_uscc=enterprise.uscc,
        region_code=enterprise.region_code,
        verification_body=verification_body,
    )


@dataclass
class Built:
    """What a builder returns: the PDF, its page count, and optionally another signer."""

    pdf: bytes
    pages: int | None = None
    signer: signing.Signer | None = None


#: kind -> builder(document, params) -> Built; run by the `documents.build` job
BUILDERS: dict[str, Callable[[Document, dict[str, Any]], Built]] = {}


def register_builder(kind: str, builder: Callable[[Document, dict[str, Any]], Built]) -> None:
    BUILDERS[kind] = builder


# ------------------------------------------------------------------ urls


def verify_path(document_id: str) -> str:
    return f"/documents/{document_id}/verify"


def verify_url(document_id: str) -> str:
    """The absolute address printed in the QR code: `CECP_PUBLIC_URL`, else the current
    request's host, else http://localhost:5000."""
    base = current_app.config.get("CECP_PUBLIC_URL")
    if not base and has_request_context():
        base = request.host_url
    return (base or "http://localhost:5000").rstrip("/") + verify_path(document_id)


def new_id() -> str:
    """A document id to print in the PDF (QR code) before the PDF exists; pass it to
    `create(document_id=...)`."""
    return new_uid()


# ------------------------------------------------------------------ writing


def _fill(
    doc: Document,
    *,
    kind: str,
    subject: Subject,
    period: str,
    title: str,
    trigger: str | None,
    source_key: str | None,
) -> None:
    if not kind or len(kind) > 40:
        raise DocumentError("kind", "文档类型不能为空，且不超过 40 个字符")
    if not period or len(str(period)) > 20:
        raise DocumentError("period", "期间不能为空，且不超过 20 个字符")
    doc.kind, doc.period = kind, str(period)
    doc.year = int(doc.period[:4]) if doc.period[:4].isdigit() else None
    doc.subject_type, doc.subject_id = subject.type, subject.id
    doc.subject_name = (subject.name or "")[:200]
    doc.enterprise_uscc, doc.region_code = subject.enterprise_uscc, subject.region_code
    doc.verification_body = subject.verification_body
    doc.title = (title or KINDS.get(kind, kind))[:300]
    doc.trigger, doc.source_key = trigger, source_key


def request_document(
    *,
    kind: str,
    subject: Subject,
    period: str,
    title: str = "",
    trigger: str | None = None,
    source_key: str | None = None,
    params: dict[str, Any] | None = None,
) -> Document:
    """A pending document built by the `documents.build` job (builder by kind). With
    `source_key` (a fingerprint of the inputs), asking again for the same inputs returns
    the document already pending or issued instead of building it twice."""
    if kind not in BUILDERS:
        raise DocumentError("kind", f"没有文档生成器: {kind}")
    if source_key:
        found = db.session.scalar(
            select(Document)
            .where(
                Document.kind == kind,
                Document.subject_type == subject.type,
                Document.subject_id == subject.id,
                Document.period == str(period),
                Document.source_key == source_key,
                Document.status != "failed",
            )
            .order_by(Document.created_at.desc())
            .limit(1)
        )
        if found is not None:
            return found
    doc = Document(id=new_id(), status="pending")
    _fill(
        doc,
        kind=kind,
        subject=subject,
        period=period,
        title=title,
        trigger=trigger,
        source_key=source_key,
    )
    doc.params = json.dumps(params or {}, ensure_ascii=False, sort_keys=True, default=str)
    db.session.add(doc)
    db.session.flush()
    enqueue(BUILD_JOB, key=f"{BUILD_JOB}:{doc.id}", document_id=doc.id)
    audit(
        "document.request",
        object_type="document",
        object_id=doc.id,
        summary={"kind": kind, "subject": subject.id, "period": doc.period, "trigger": trigger},
    )
    return doc


def _meta_payload(doc: Document) -> bytes:
    signed_at = doc.signed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if doc.signed_at else None
    return signing.canonical_json(
        {
            "typ": "cecp.document",
            "id": doc.id,
            "kind": doc.kind,
            "title": doc.title,
            "issuer": doc.issuer,
            "subject_type": doc.subject_type,
            "subject_id": doc.subject_id,
            "subject_name": doc.subject_name,
            "period": doc.period,
            "version": doc.version,
            "sha256": doc.sha256,
            "sm3": doc.sm3,
            "size": doc.size,
            "signer_key_id": doc.signer_key_id,
            "signed_at": signed_at,
        }
    )


def _issue(doc: Document, pdf: bytes, signer: signing.Signer | None, pages: int | None) -> Document:
    if not isinstance(pdf, bytes | bytearray) or not bytes(pdf).startswith(b"%PDF-"):
        raise DocumentError("pdf", "文档内容必须是 PDF")
    pdf = bytes(pdf)
    signer = signer or signing.platform_signer()
    last = db.session.scalar(
        select(func.max(Document.version)).where(
            Document.kind == doc.kind,
            Document.subject_type == doc.subject_type,
            Document.subject_id == doc.subject_id,
            Document.period == doc.period,
        )
    )
    doc.version = (last or 0) + 1
    doc.pdf, doc.size, doc.pages = pdf, len(pdf), pages
    doc.sha256, doc.sm3 = hashlib.sha256(pdf).hexdigest(), sm3(pdf).hex()
    doc.signer_key_id, doc.signed_at = signer.key_id, utcnow()
    doc.issuer = doc.issuer or ISSUER
    doc.signature = signer.sign(pdf)
    doc.meta_signature = signer.sign(_meta_payload(doc))
    doc.status, doc.error = "ready", None
    db.session.flush()
    older = db.session.scalars(
        select(Document).where(
            Document.kind == doc.kind,
            Document.subject_type == doc.subject_type,
            Document.subject_id == doc.subject_id,
            Document.period == doc.period,
            Document.status == "ready",
            Document.id != doc.id,
            Document.superseded_by.is_(None),
        )
    ).all()
    for old in older:
        old.superseded_by, old.superseded_at = doc.id, doc.signed_at
    db.session.flush()
    audit(
        "document.issue",
        object_type="document",
        object_id=doc.id,
        summary={
            "kind": doc.kind,
            "subject": doc.subject_id,
            "period": doc.period,
            "version": doc.version,
            "sm3": doc.sm3,
            "signer": doc.signer_key_id,
            "supersedes": [o.id for o in older],
        },
    )
    return doc


def create(
    *,
    kind: str,
    subject: Subject,
    period: str,
    pdf: bytes,
    signer: signing.Signer | None = None,
    title: str = "",
    document_id: str | None = None,
    issuer: str | None = None,
    trigger: str | None = None,
    source_key: str | None = None,
    pages: int | None = None,
) -> Document:
    """Store and sign a finished PDF as the next version of (kind, subject, period),
    superseding the earlier ones. Signed by the platform key unless `signer` is given
    (e.g. `signing.org_key(owner_type="verification_body", owner_id=code)`). Pass the
    `document_id` you printed in the PDF's QR code (`new_id()`); a pending document of
    that id is completed. Call it from a job, never in a request."""
    doc = db.session.get(Document, document_id) if document_id else None
    if doc is None:
        doc = Document(id=document_id or new_id())
        db.session.add(doc)
    elif doc.status == "ready":
        raise DocumentError("document_id", "该文档已签发，不能重写")
    _fill(
        doc,
        kind=kind,
        subject=subject,
        period=period,
        title=title,
        trigger=trigger,
        source_key=source_key,
    )
    doc.issuer = (issuer or ISSUER)[:200]
    return _issue(doc, pdf, signer, pages)


def complete(*, document_id: str, built: Built) -> Document:
    """Finish a pending document with what its builder made."""
    doc = db.session.get(Document, document_id)
    if doc is None or doc.status == "ready":
        raise DocumentError("document_id", "文档不存在或已签发")
    return _issue(doc, built.pdf, built.signer, built.pages)


def fail(*, document_id: str, error: str) -> None:
    """Mark a pending document failed (a builder refused its inputs); audited."""
    doc = db.session.get(Document, document_id)
    if doc is None or doc.status != "pending":
        return
    doc.status, doc.error = "failed", (error or "")[:2000]
    db.session.flush()
    audit(
        "document.failed",
        object_type="document",
        object_id=doc.id,
        summary={"kind": doc.kind, "subject": doc.subject_id, "error": doc.error[:300]},
    )


# ------------------------------------------------------------------ reading


def get(*, document_id: str, scope: DataScope) -> Document | None:
    """A document within `scope` (pass `ALL` only for platform-internal use)."""
    if not isinstance(document_id, str) or len(document_id) > 32:
        return None
    return db.session.scalar(
        scoped(select(Document), Document, scope).where(Document.id == document_id)
    )


def list_(
    *,
    scope: DataScope,
    subject_type: str | None = None,
    subject_id: str | None = None,
    kind: str | None = None,
    year: int | None = None,
    period: str | None = None,
    limit: int = 500,
) -> list[Document]:
    """Documents within `scope`, newest first (superseded ones included: they say so)."""
    stmt = scoped(select(Document), Document, scope)
    for col, value in (
        (Document.subject_type, subject_type),
        (Document.subject_id, subject_id),
        (Document.kind, kind),
        (Document.year, year),
        (Document.period, period),
    ):
        if value is not None:
            stmt = stmt.where(col == value)
    return list(
        db.session.scalars(
            stmt.order_by(
                Document.period.desc(),
                Document.kind,
                Document.version.desc().nulls_first(),
                Document.created_at.desc(),
            ).limit(limit)
        )
    )


def pdf_of(doc: Document) -> bytes | None:
    return doc.pdf if doc.status == "ready" else None


def summary(doc: Document) -> dict[str, Any]:
    """The metadata shape of `GET /api/v1/documents/{id}` (no bytes)."""
    return {
        "id": doc.id,
        "kind": doc.kind,
        "kind_label": doc.kind_label,
        "title": doc.title,
        "status": (
            "superseded"
            if doc.status == "ready" and doc.superseded_by
            else "valid"
            if doc.status == "ready"
            else doc.status
        ),
        "subject": {"type": doc.subject_type, "id": doc.subject_id, "name": doc.subject_name},
        "period": doc.period,
        "version": doc.version,
        "sha256": doc.sha256,
        "sm3": doc.sm3,
        "size": doc.size,
        "pages": doc.pages,
        "signer_key_id": doc.signer_key_id,
        "signed_at": iso(doc.signed_at),
        "superseded_by": doc.superseded_by,
        "trigger": doc.trigger,
        "created_at": iso(doc.created_at),
        "error": doc.error,
    }


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ verification


def _authentic(doc: Document, *, check_pdf: bool = True) -> str | None:
    """None when the row is intact and signed by a certified key, else the reason."""
    if doc.status != "ready" or not doc.signature or not doc.signer_key_id:
        return "文档尚未签发"
    if check_pdf:
        pdf = doc.pdf or b""
        if (
            hashlib.sha256(pdf).hexdigest() != doc.sha256
            or sm3(pdf).hex() != doc.sm3
            or len(pdf) != doc.size
        ):
            return "文档内容与登记的摘要不符"
        if not signing.verify_with_key(pdf, doc.signature, doc.signer_key_id):
            return "文档签名无效"
    if not doc.meta_signature or not signing.verify_with_key(
        _meta_payload(doc), doc.meta_signature, doc.signer_key_id
    ):
        return "文档登记信息签名无效"
    return None


def verify(*, document_id: str) -> dict[str, Any]:
    """Public check of one document: `valid` is True only when the PDF matches both
    digests, its SM2 signature and the signed facts check against a certified key.
    `status` is "valid", "superseded" (authentic, but a newer authentic version of the
    same kind, subject and period exists) or "invalid" (unknown id, not issued, or any
    check failed). Never raises for bad input."""
    doc = get(document_id=document_id, scope=ALL) if isinstance(document_id, str) else None
    if doc is None:
        return {"id": document_id, "valid": False, "status": "invalid", "reason": "文档不存在"}
    reason = _authentic(doc)
    if reason is not None:
        return {"id": doc.id, "valid": False, "status": "invalid", "reason": reason}
    newer = db.session.scalars(
        select(Document)
        .where(
            Document.kind == doc.kind,
            Document.subject_type == doc.subject_type,
            Document.subject_id == doc.subject_id,
            Document.period == doc.period,
            Document.status == "ready",
            Document.version > doc.version,
        )
        .order_by(Document.version.desc())
    ).all()
    superseded_by = next((n.id for n in newer if _authentic(n, check_pdf=False) is None), None)
    status = "superseded" if superseded_by else "valid"
    return {
        "id": doc.id,
        "valid": True,
        "status": status,
        "reason": "已被新版本取代" if superseded_by else "签名有效",
        "kind": doc.kind,
        "kind_label": doc.kind_label,
        "title": doc.title,
        "issuer": doc.issuer,
        "subject": {"type": doc.subject_type, "id": doc.subject_id, "name": doc.subject_name},
        "period": doc.period,
        "version": doc.version,
        "sha256": doc.sha256,
        "sm3": doc.sm3,
        "size": doc.size,
        "signer_key_id": doc.signer_key_id,
        "signed_at": iso(doc.signed_at),
        "superseded_by": superseded_by,
        "key_url": f"/api/v1/keys/{doc.signer_key_id}.pem",
    }
