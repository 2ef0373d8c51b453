"""`documents.build`: run the builder of a pending document's kind and sign the result.

Runs in the outbox runner's transaction (never commits). Idempotent by effect: a document
already issued (or failed) is left as it is, so a replayed job does nothing. A builder
that refuses its inputs (`DocumentError`, `ValueError`, `LookupError`) marks the document
failed with the reason instead of retrying; anything else raises and the runner retries.
"""

from __future__ import annotations

import json

from app.documents import service
from app.documents.models import Document
from app.extensions import db
from app.jobs.registry import job


@job(service.BUILD_JOB)
def build(*, document_id: str) -> str:
    doc = db.session.get(Document, document_id)
    if doc is None or doc.status != "pending":
        return "skipped"
    builder = service.BUILDERS.get(doc.kind)
    if builder is None:
        service.fail(document_id=doc.id, error=f"没有文档生成器: {doc.kind}")
        return "failed"
    try:
        built = builder(doc, json.loads(doc.params or "{}"))
    except (service.DocumentError, ValueError, LookupError) as exc:
        service.fail(document_id=doc.id, error=str(exc))
        return "failed"
    service.complete(document_id=doc.id, built=built)
    return "ready"
