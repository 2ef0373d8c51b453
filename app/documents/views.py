"""Pages: the public verification page (reached from the QR code on every page of a PDF),
a document's own page (progress while a job builds it, then download), the download, and
the documents list within the caller's scope. Thin: the service decides."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_security import auth_required, current_user

from app.audit.service import record as audit
from app.documents import service
from app.documents.models import KINDS
from app.extensions import db
from app.identity.scope import current_scope, get_scoped
from app.orgs.models import Enterprise

bp = Blueprint("documents", __name__, url_prefix="/documents")


def _scoped_or_404(document_id: str):
    doc = service.get(document_id=document_id, scope=current_scope())
    if doc is None:
        audit(
            "document.refused",
            object_type="document",
            object_id=document_id[:64],
            user=current_user,
            summary={"path": request.path},
        )
        db.session.commit()
        abort(404)
    return doc


@bp.route("/<string:document_id>/verify")
def verify(document_id: str):
    """Public: issuer, subject, period, digests and valid / superseded / invalid."""
    result = service.verify(document_id=document_id)
    return render_template("documents/verify.html", result=result, document_id=document_id[:64])


@bp.route("/<string:document_id>")
@auth_required("session")
def show(document_id: str):
    """The document's page: progress while pending (refreshes itself), then download."""
    doc = _scoped_or_404(document_id)
    return render_template("documents/show.html", doc=doc)


@bp.route("/<string:document_id>/status.json")
@auth_required("session")
def status(document_id: str):
    doc = _scoped_or_404(document_id)
    return {"status": doc.status, "label": doc.status_label}


@bp.route("/<string:document_id>/download")
@auth_required("session")
def download(document_id: str):
    doc = _scoped_or_404(document_id)
    pdf = service.pdf_of(doc)
    if pdf is None:
        abort(404)
    audit("document.download", object_type="document", object_id=doc.id, user=current_user)
    name = f"{doc.subject_id}-{doc.period}-v{doc.version}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private"},
    )


@bp.route("/")
@auth_required("session")
def index():
    """The caller's documents; `?enterprise=USCC` and `?year=` narrow the list."""
    uscc = (request.args.get("enterprise") or "").strip() or None
    year_arg = (request.args.get("year") or "").strip()
    year = int(year_arg) if year_arg.isdigit() and len(year_arg) == 4 else None
    enterprise = None
    if uscc:
        enterprise = get_scoped(Enterprise, uscc, by="uscc", scope=current_scope())
        if enterprise is None:
            audit(
                "document.refused",
                object_type="enterprise",
                object_id=uscc[:64],
                user=current_user,
                summary={"path": request.path},
            )
            db.session.commit()
            abort(404)
    docs = service.list_(
        scope=current_scope(),
        subject_type="enterprise" if uscc else None,
        subject_id=uscc,
        year=year,
    )
    return render_template(
        "documents/index.html", docs=docs, enterprise=enterprise, year=year, kinds=KINDS
    )
