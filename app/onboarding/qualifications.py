"""Qualification documents of an application: PDF, JPEG or PNG only (recognised by their
first bytes, whatever the uploader says), at most `MAX_FILES` of `CECP_ONBOARDING_DOC_MAX_BYTES`
each, SM4-GCM encrypted with the active data key and bound to their row (a ciphertext moved
to another row does not decrypt). Only the platform administrator reads them; every read is
audited."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.crypto.hashing import sm3_hex
from app.crypto.keys import active_data_key, data_key
from app.crypto.sm4 import sm4_gcm_decrypt, sm4_gcm_encrypt
from app.db import new_uid, utcnow
from app.extensions import db
from app.onboarding.models import Application, ApplicationDocument
from app.onboarding.service import ApplicationError

MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024
#: first bytes -> (content type, extension)
SIGNATURES = ((b"%PDF-", ("application/pdf", "pdf")), (b"\xff\xd8\xff", ("image/jpeg", "jpg")),
              (b"\x89PNG\r\n\x1a\n", ("image/png", "png")))


def sniff(content: bytes) -> tuple[str, str] | None:
    for magic, kind in SIGNATURES:
        if content.startswith(magic):
            return kind
    return None


def _aad(row: ApplicationDocument) -> bytes:
    return f"onboarding_document:{row.uid}:{row.application_id}".encode()


def _safe_name(name: str, ext: str) -> str:
    stem = re.sub(r"[^\w\u4e00-\u9fff.-]+", "_", (name or "").rsplit(".", 1)[0])[:80] or "资质文件"
    return f"{stem}.{ext}"


def check(files: list[tuple[str, bytes]]) -> dict[str, str]:
    """Field errors for a set of uploads (empty: fine)."""
    limit = int(current_app.config.get("CECP_ONBOARDING_DOC_MAX_BYTES", MAX_BYTES))
    if len(files) > MAX_FILES:
        return {"documents": f"最多上传 {MAX_FILES} 个资质文件"}
    for name, content in files:
        if not content:
            return {"documents": f"文件“{name[:40]}”为空"}
        if len(content) > limit:
            return {"documents": f"文件“{name[:40]}”超过 {limit // 1024 // 1024} MB"}
        if sniff(content) is None:
            return {"documents": f"文件“{name[:40]}”不是 PDF、JPEG 或 PNG"}
    return {}


def add_all(*, application: Application, files: list[tuple[str, bytes]]) -> int:
    """Store the (already checked) uploads of an application, encrypted."""
    errors = check(files)
    if errors:
        raise ApplicationError(errors)
    version, key = active_data_key()
    for name, content in files:
        content_type, ext = sniff(content)  # type: ignore[misc]  (checked above)
        row = ApplicationDocument(uid=new_uid(), application_id=application.id,
                                  filename=_safe_name(name, ext), content_type=content_type,
                                  size=len(content), digest=sm3_hex(content),
                                  key_version=version, ciphertext=b"", created_at=utcnow())
        row.ciphertext = sm4_gcm_encrypt(key, content, _aad(row))
        db.session.add(row)
    db.session.flush()
    if files:
        audit.record("onboarding.documents", object_type="onboarding_application",
                     object_id=application.id, summary={"files": len(files)})
    return len(files)


def list_for(*, application: Application) -> list[ApplicationDocument]:
    return list(db.session.scalars(select(ApplicationDocument).where(
        ApplicationDocument.application_id == application.id).order_by(ApplicationDocument.id)))


def get(*, application: Application, uid: str) -> ApplicationDocument | None:
    return db.session.scalar(select(ApplicationDocument).where(
        ApplicationDocument.application_id == application.id, ApplicationDocument.uid == uid))


def read(*, row: ApplicationDocument, user: Any) -> bytes:
    """Decrypt (the tag and the row binding are checked) and audit the read."""
    content = sm4_gcm_decrypt(data_key(row.key_version), row.ciphertext, _aad(row))
    audit.record("onboarding.document_read", object_type="onboarding_document",
                 object_id=row.id, user=user, summary={"application": row.application_id})
    return content
