"""/api/v1/documents, /api/v1/keys and an enterprise's documents. Thin: the service
decides. Reading a document needs a login and the document in the caller's scope (404
otherwise, audited); verifying one and fetching a public key need no login."""

from __future__ import annotations

from flask import Response, request
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import api_error
from app.audit.service import record as audit
from app.crypto import signing
from app.documents import service
from app.extensions import db
from app.identity.scope import current_scope, get_scoped
from app.orgs.models import Enterprise

blp = Blueprint(
    "documents_api",
    __name__,
    url_prefix="/api/v1",
    description="签名文档 Signed documents (SM2 over SM3)",
)
NOT_FOUND = "文档不存在或不在您的数据范围内"


def refuse(object_type: str, object_id: str) -> tuple:
    """404 for anything outside the caller's scope (never a hint it exists), audited."""
    audit(
        "document.refused",
        object_type=object_type,
        object_id=str(object_id)[:64],
        user=current_user,
        summary={"path": request.path},
    )
    db.session.commit()
    return api_error(
        404,
        NOT_FOUND if object_type == "document" else "企业不存在或不在您的数据范围内",
        code="not_found",
    )


def _doc(document_id: str):
    return service.get(document_id=document_id, scope=current_scope())


@blp.route("/documents/<string:document_id>", methods=["GET"])
@auth_required("token", "session")
def get_document(document_id: str):
    """Metadata: kind, subject, period, version, digests, signer key id, status."""
    doc = _doc(document_id)
    if doc is None:
        return refuse("document", document_id)
    return service.summary(doc)


@blp.route("/documents/<string:document_id>/pdf", methods=["GET"])
@auth_required("token", "session")
def get_pdf(document_id: str):
    """The PDF bytes (404 while it is still being generated)."""
    doc = _doc(document_id)
    if doc is None:
        return refuse("document", document_id)
    pdf = service.pdf_of(doc)
    if pdf is None:
        return api_error(404, "文档尚在生成或生成失败", code="not_ready")
    audit("document.download", object_type="document", object_id=doc.id, user=current_user)
    name = f"{doc.subject_id}-{doc.period}-{doc.kind}-v{doc.version}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-SM3": doc.sm3 or "",
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/documents/<string:document_id>/signature", methods=["GET"])
@auth_required("token", "session")
def get_signature(document_id: str):
    """The SM2 signature (DER) over the PDF bytes: SM3, user id 1234567812345678."""
    doc = _doc(document_id)
    if doc is None:
        return refuse("document", document_id)
    if doc.status != "ready" or not doc.signature:
        return api_error(404, "文档尚在生成或生成失败", code="not_ready")
    return Response(
        doc.signature,
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{doc.id}.sig.der"',
            "X-Signer-Key-Id": doc.signer_key_id or "",
        },
    )


@blp.route("/documents/<string:document_id>/verify", methods=["GET"])
def verify_document(document_id: str):
    """Public: `{"valid": bool, "status": "valid"|"superseded"|"invalid", ...}` after
    checking both digests, the PDF signature and the signed facts."""
    result = service.verify(document_id=document_id)
    return result, 200


@blp.route("/keys/<string:key_id>.pem", methods=["GET"])
def key_pem(key_id: str):
    """Public: a signer's public key (platform or verification body), PEM."""
    pem = signing.public_pem_for(key_id)
    if pem is None:
        return api_error(404, "密钥不存在", code="not_found")
    return Response(pem, mimetype="application/x-pem-file")


@blp.route("/keys/<string:key_id>", methods=["GET"])
def key_json(key_id: str):
    """Public: a signer's public key, owner and certificate (a platform-signed token)."""
    info = signing.key_info(key_id)
    if info is None:
        return api_error(404, "密钥不存在", code="not_found")
    info["created_at"] = service.iso(info["created_at"])
    info["revoked_at"] = service.iso(info["revoked_at"])
    return info


@blp.route("/enterprises/<string:uscc>/reports", methods=["GET"])
@auth_required("token", "session")
def enterprise_documents(uscc: str):
    """An enterprise's documents (reports, statements), newest first; `?year=` filters."""
    year = request.args.get("year")
    if year not in (None, ""):
        if not year.isdigit() or not 1990 <= int(year) <= 2100:
            return api_error(
                400,
                "年份格式不正确",
                code="invalid",
                fields={"year": "年份应为 1990–2100 之间的四位数字"},
            )
    ent = get_scoped(Enterprise, uscc, by="uscc", scope=current_scope())
    if ent is None:
        return refuse("enterprise", uscc)
    docs = service.list_(
        scope=current_scope(),
        subject_type="enterprise",
        subject_id=ent.uscc,
        year=int(year) if year else None,
    )
    return {
        "enterprise": {"uscc": ent.uscc, "name": ent.name},
        "items": [service.summary(d) for d in docs],
    }
