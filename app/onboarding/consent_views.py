"""Pages for bank consent: the enterprise grants, revokes and sees who looked; the bank sees
its consenting enterprises and their grades (every read audited)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user, permissions_accepted
from sqlalchemy import select

from app.extensions import db
from app.identity.scope import current_scope, scoped
from app.onboarding import consent
from app.onboarding.service import ApplicationError
from app.orgs.models import Enterprise

bp = Blueprint("consent", __name__, url_prefix="/onboarding")


@bp.route("/consents", methods=["GET", "POST"])
@auth_required("session")
@permissions_accepted("energy.write")
def consents():
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.form.get("revoke"):
                c = consent.get(uid=request.form["revoke"], scope=current_scope())
                if c is None:
                    abort(404)
                consent.revoke(c)
                flash("已撤销授权，对方自下一次访问起无法查看贵企业数据。", "success")
            else:
                days = request.form.get("days", "")
                consent.grant(uscc=request.form.get("uscc", ""),
                              bank=request.form.get("bank", ""),
                              days=int(days) if days.isdigit() else days,
                              scope=current_scope(), items=request.form.getlist("items"))
                flash("已授权。", "success")
        except ApplicationError as exc:
            errors = exc.fields
        else:
            return redirect(url_for("consent.consents"))
    enterprises = list(db.session.scalars(scoped(select(Enterprise), Enterprise)
                                          .order_by(Enterprise.name).limit(100)))
    items = [consent.as_json(c) for c in consent.list_for_enterprise(scope=current_scope())]
    return render_template("onboarding/consents.html", items=items, banks=consent.banks(),
                           exchanges=consent.recipients(kind="exchange"),
                           enterprises=enterprises, errors=errors, consent_items=consent.ITEMS,
                           form=request.form), (422 if errors else 200)


@bp.route("/bank")
@auth_required("session")
@permissions_accepted("institution.workspace")
def bank():
    b = consent.bank_of(current_scope())
    if b is None:
        abort(403)
    return render_template("onboarding/bank.html", bank=b,
                           enterprises=consent.consenting(bank=b), grade=None, summary=None)


@bp.route("/bank/<string:uscc>")
@auth_required("session")
@permissions_accepted("institution.workspace")
def bank_grade(uscc: str):
    b = consent.bank_of(current_scope())
    if b is None:
        abort(403)
    grade = consent.read_grade(bank=b, uscc=uscc, user=current_user)
    summary = consent.read_summary(bank=b, uscc=uscc, user=current_user)
    if grade is None and summary is None:
        abort(404)
    return render_template("onboarding/bank.html", bank=b, enterprises=consent.consenting(bank=b),
                           grade=grade, summary=summary)


def _pdf_response(doc):
    from flask import Response

    from app.documents import service as documents

    return Response(documents.pdf_of(doc), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="grade-certificate-{doc.id}.pdf"'})


@bp.route("/certificate/<string:uscc>", methods=["POST"])
@auth_required("session")
def enterprise_certificate(uscc: str):
    """The enterprise's own signed grade certificate (its code page's button)."""
    from app.identity.scope import get_scoped_or_404
    from app.onboarding import certificate

    ent = get_scoped_or_404(Enterprise, uscc, by="uscc")
    year = request.form.get("year", type=int)
    try:
        doc = certificate.issue(enterprise=ent, year=year, trigger="enterprise")
    except certificate.CertificateError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("accounting.account", uscc=ent.uscc))
    return redirect(url_for("documents.show", document_id=doc.id))


@bp.route("/bank/<string:uscc>/certificate", methods=["POST"])
@auth_required("session")
@permissions_accepted("institution.workspace")
def bank_certificate(uscc: str):
    """The bank workspace's button: the PDF, only with a live consent (403, audited)."""
    from app.onboarding import certificate

    b = consent.bank_of(current_scope())
    if b is None:
        abort(403)
    try:
        doc = consent.read_certificate(bank=b, uscc=uscc, user=current_user,
                                       year=request.form.get("year", type=int))
    except certificate.CertificateError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("consent.bank_grade", uscc=uscc))
    if doc is None:
        abort(403)
    return _pdf_response(doc)
