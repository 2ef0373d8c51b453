"""/api/v1/onboarding/consents (the enterprise's side) and /api/v1/onboarding/bank (the
bank's side): a bank reaches only enterprises with a live consent, 404 otherwise."""

from __future__ import annotations

from flask import request
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import api_error
from app.identity.scope import current_scope
from app.onboarding import consent
from app.onboarding.service import ApplicationError

blp = Blueprint("onboarding_consent_api", __name__, url_prefix="/api/v1/onboarding",
                description="银行授权 Bank consent")


def _error(exc: ApplicationError):
    return api_error(exc.status, exc.message, fields=exc.fields)


@blp.route("/banks", methods=["GET"])
@auth_required("token", "session")
def list_banks():
    """The onboarded, active banks an enterprise may grant consent to."""
    return {"items": [{"code": b.uscc, "name": b.name} for b in consent.banks()]}


@blp.route("/exchanges", methods=["GET"])
@auth_required("token", "session")
def list_exchanges():
    """The onboarded, active exchanges an enterprise may let read its grade."""
    return {"items": [{"code": x.uscc, "name": x.name}
                      for x in consent.recipients(kind="exchange")]}


@blp.route("/consents", methods=["POST"])
@auth_required("token", "session")
def grant_consent():
    """{"uscc": enterprise, "bank": bank code, "days": 1..366, "items": ["grade",
    "summary"] (default ["grade"])}: grant or extend."""
    if not current_user.has_permission("energy.write"):
        return api_error(403, "只有企业用户可以授权银行", code="forbidden")
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or (request.content_length or 0) > 4096:
        return api_error(400, "请求体必须是不超过 4 KB 的 JSON 对象", fields={"body": "格式错误"})
    try:
        c = consent.grant(uscc=data.get("uscc") or "",
                          bank=data.get("bank") or data.get("exchange") or "",
                          days=data.get("days"), scope=current_scope(),
                          items=data.get("items"))
    except ApplicationError as exc:
        return _error(exc)
    return consent.as_json(c), 201


@blp.route("/consents", methods=["GET"])
@auth_required("token", "session")
def list_consents():
    """The caller's enterprises' consents and every read made under them."""
    return {"items": [consent.as_json(c)
                      for c in consent.list_for_enterprise(scope=current_scope())]}


@blp.route("/consents/<string:uid>/revoke", methods=["POST"])
@auth_required("token", "session")
def revoke_consent(uid: str):
    if not current_user.has_permission("energy.write"):
        return api_error(403, "只有企业用户可以撤销授权", code="forbidden")
    c = consent.get(uid=uid, scope=current_scope())
    if c is None:
        return api_error(404, "授权不存在或不在您的数据范围内", code="not_found")
    consent.revoke(c)
    return consent.as_json(c)


def _bank():
    return consent.bank_of(current_scope())


@blp.route("/bank/enterprises", methods=["GET"])
@auth_required("token", "session")
def bank_enterprises():
    """Only the enterprises whose consent to the caller's bank is live."""
    bank = _bank()
    if bank is None:
        return api_error(403, "只有已开通银行的成员可以访问", code="forbidden")
    return {"items": [{"uscc": e.uscc, "name": e.name}
                      for e in consent.consenting(bank=bank)]}


READS = {"grade": (consent.read_grade, "企业不存在或未向本行授权"),
         "summary": (consent.read_summary, "企业不存在或未授权本行查看碳账户摘要")}


@blp.route("/bank/enterprises/<string:uscc>/<any(grade,summary):what>", methods=["GET"])
@auth_required("token", "session")
def bank_read(uscc: str, what: str):
    """The grade (with its changes since the consent) or the account summary, when the
    enterprise's live consent covers it (404 otherwise)."""
    bank = _bank()
    if bank is None:
        return api_error(403, "只有已开通银行的成员可以访问", code="forbidden")
    read, missing = READS[what]
    out = read(bank=bank, uscc=uscc, user=current_user)
    if out is None:
        return api_error(404, missing, code="not_found")
    return out
