"""The grade certificate API: the enterprise (anyone whose scope covers it) at
`/api/v1/enterprises/{uscc}/grade-certificate`, a bank with the enterprise's live consent
(item `grade`) at `/api/v1/onboarding/bank/enterprises/{uscc}/grade-certificate` (403 and
audited without it). POST issues or reuses the current signed version and answers its
metadata; `.../pdf` answers the PDF bytes. Verification is public: `/documents/<id>/verify`."""

from __future__ import annotations

from flask import Response, request
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import api_error
from app.documents import service as documents
from app.identity.scope import current_scope, get_scoped_or_404
from app.onboarding import certificate, consent
from app.orgs.models import Enterprise

blp = Blueprint("grade_certificate_api", __name__, url_prefix="/api/v1",
                description="碳效等级证明 Grade certificate")


def _year():
    raw = request.args.get("year") or (request.get_json(silent=True) or {}).get("year")
    if raw in (None, ""):
        return None, None
    try:
        year = int(raw)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        return None, api_error(400, "年份无效", fields={"year": "应为 2000–2100 的整数"})
    return year, None


def _answer(doc, pdf: bool):
    if pdf:
        return Response(documents.pdf_of(doc), mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="grade-certificate-{doc.id}.pdf"'})
    return certificate.as_json(doc), 200


@blp.route("/enterprises/<string:uscc>/grade-certificate", methods=["POST", "GET"])
@blp.route("/enterprises/<string:uscc>/grade-certificate/pdf", methods=["GET"],
           endpoint="enterprise_certificate_pdf")
@auth_required("token", "session")
def enterprise_certificate(uscc: str):
    """The enterprise's own certificate (issued or reused), JSON or (`/pdf`) the PDF."""
    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    year, error = _year()
    if error:
        return error
    try:
        doc = certificate.issue(enterprise=ent, year=year, trigger="enterprise")
    except certificate.CertificateError as exc:
        return api_error(404, str(exc), code="no_code", fields={"year": str(exc)})
    return _answer(doc, request.path.endswith("/pdf"))


@blp.route("/onboarding/bank/enterprises/<string:uscc>/grade-certificate",
           methods=["POST", "GET"])
@blp.route("/onboarding/bank/enterprises/<string:uscc>/grade-certificate/pdf",
           methods=["GET"], endpoint="bank_certificate_pdf")
@auth_required("token", "session")
def bank_certificate(uscc: str):
    """A consenting enterprise's certificate for the caller's bank (403 without consent)."""
    bank = consent.bank_of(current_scope())
    if bank is None:
        return api_error(403, "只有已开通银行的成员可以访问", code="forbidden")
    year, error = _year()
    if error:
        return error
    try:
        doc = consent.read_certificate(bank=bank, uscc=uscc, user=current_user, year=year)
    except certificate.CertificateError as exc:
        return api_error(404, str(exc), code="no_code", fields={"year": str(exc)})
    if doc is None:
        return api_error(403, "企业未授权本行查看碳效等级证明", code="no_consent")
    return _answer(doc, request.path.endswith("/pdf"))
