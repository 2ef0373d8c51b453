"""Evidence files of a case, encrypted at rest with SM4-GCM.

The data key comes from the key hierarchy (`app.crypto.keys`); the associated data binds the
ciphertext to its row (uid and instance), so a ciphertext copied into another row or case
does not decrypt.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.crypto.hashing import sm3_hex
from app.crypto.keys import active_data_key, data_key
from app.crypto.sm4 import sm4_gcm_decrypt, sm4_gcm_encrypt
from app.db import new_uid
from app.extensions import db
from app.workflow.errors import Forbidden, Invalid, NotFound
from app.workflow.models import Attachment, ProcessInstance, WorkTask

MAX_BYTES = 20 * 1024 * 1024

#: the content types the platform serves, by file extension; anything else is served as
#: application/octet-stream. The uploader's declared type is never used: a file declared
#: text/html would otherwise run as a page of the platform.
CONTENT_TYPES = {
    "pdf": "application/pdf", "ofd": "application/ofd", "png": "image/png",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "txt": "text/plain", "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword", "zip": "application/zip",
}


def content_type_for(filename: str | None) -> str:
    """The type the platform serves a file with, decided by its name's extension."""
    ext = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    return CONTENT_TYPES.get(ext, "application/octet-stream")


def _aad(row: Attachment) -> bytes:
    return f"workflow_attachment:{row.uid}:{row.instance_id}".encode()


def may_upload(user: Any, inst: ProcessInstance) -> bool:
    """The initiator, or whoever may work one of the case's ready tasks."""
    from app.workflow.assignment import can_work

    if inst.initiator_id == getattr(user, "id", None):
        return True
    tasks = db.session.scalars(select(WorkTask).where(WorkTask.instance_id == inst.id)).all()
    return any(can_work(user, t) for t in tasks)


def add(*, inst: ProcessInstance, user: Any, filename: str, content: bytes,
        content_type: str | None = None, task_name: str | None = None) -> Attachment:
    """Store an evidence file; `content_type` (the uploader's claim) is ignored."""
    if inst.status != "running":
        raise Invalid("流程已结束或异常，不能再上传附件")
    if not may_upload(user, inst):
        raise Forbidden("只有流程发起人或当前任务的办理人可以上传附件")
    limit = int(current_app.config.get("CECP_ATTACHMENT_MAX_BYTES", MAX_BYTES))
    if not content:
        raise Invalid("附件为空", fields={"file": "请选择文件"})
    if len(content) > limit:
        raise Invalid(f"附件超过 {limit // 1024 // 1024} MB", fields={"file": "文件过大"})
    version, key = active_data_key()
    row = Attachment(uid=new_uid(), instance_id=inst.id, task_name=task_name,
                     filename=(filename or "附件")[-255:],
                     content_type=content_type_for(filename),
                     size=len(content), digest=sm3_hex(content), key_version=version,
                     uploaded_by=getattr(user, "id", None),
                     uploaded_by_label=getattr(user, "display_name", None)
                     or getattr(user, "email", None), ciphertext=b"")
    row.ciphertext = sm4_gcm_encrypt(key, content, _aad(row))
    db.session.add(row)
    db.session.flush()
    audit.record("workflow.attachment.add", object_type="workflow_attachment", object_id=row.id,
                 user=user, summary={"instance": inst.id, "filename": row.filename,
                                     "size": row.size, "sm3": row.digest})
    return row


def read(*, row: Attachment, user: Any) -> bytes:
    """Decrypt (checks the tag and the row binding) and audit the download."""
    content = sm4_gcm_decrypt(data_key(row.key_version), row.ciphertext, _aad(row))
    audit.record("workflow.attachment.download", object_type="workflow_attachment",
                 object_id=row.id, user=user, summary={"instance": row.instance_id})
    return content


def get(*, attachment_id: int) -> Attachment:
    row = db.session.get(Attachment, attachment_id)
    if row is None or row.deleted:
        raise NotFound("附件不存在")
    return row


def for_instance(*, inst: ProcessInstance) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(
        Attachment.instance_id == inst.id, Attachment.deleted.is_(False))
        .order_by(Attachment.created_at)))
