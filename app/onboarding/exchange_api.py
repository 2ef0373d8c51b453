"""/api/v1/onboarding/exchange: an exchange's own API keys and webhooks (its administrator)
and what its keys read (lots, holdings, grades of consenting enterprises). Everything is
narrowed to the caller's own exchange: another organisation gets 403, another exchange's
key, webhook or delivery 404."""

from __future__ import annotations

from flask import request
from flask_security import auth_required, current_user
from flask_smorest import Blueprint

from app.api import api_error
from app.identity.scope import current_scope
from app.onboarding import consent, exchange_keys, webhooks
from app.onboarding.service import ApplicationError
from app.uow import refused

blp = Blueprint("exchange_workspace_api", __name__, url_prefix="/api/v1/onboarding/exchange",
                description="交易所密钥、回调与读取 Exchange keys, webhooks and reads (6.5.2)")


def _error(exc: ApplicationError):
    """Refusals are audited too (kept when the request rolls back)."""
    refused("exchange.refused", object_type="exchange_workspace", user=current_user,
            summary={"path": request.path, "status": exc.status, "fields": exc.fields})
    return api_error(exc.status, exc.message, code="invalid" if exc.status == 422 else None,
                     fields=exc.fields)


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or (request.content_length or 0) > 8192:
        raise ApplicationError({"body": "请求体必须是不超过 8 KB 的 JSON 对象"}, status=400,
                               message="请求体必须是 JSON 对象")
    return data


def _deny(what: str, status: int = 403):
    refused("exchange.refused", object_type="exchange_workspace", user=current_user,
            summary={"path": request.path, "what": what})
    if status == 404:
        return api_error(404, "不存在或不属于本交易所", code="not_found")
    return api_error(403, "只有已开通交易所的成员或其授权密钥可以访问", code="forbidden")


def _admin():
    """(exchange, None) for the exchange's own administrator (a person), else (None, 403)."""
    org = exchange_keys.exchange_of(current_scope())
    if org is None or current_user.user_class == "machine" or not current_user.has_permission(
            "org.manage"):
        return None, _deny("admin")
    return org, None


def _reader(scope: str):
    """The caller's exchange for a read: its key must carry `scope`; its members may read."""
    org = exchange_keys.exchange_of(current_scope())
    if org is None:
        return None, _deny(scope)
    if current_user.user_class == "machine" and not current_user.has_permission(scope):
        refused("exchange.refused", object_type="exchange_workspace", user=current_user,
                summary={"path": request.path, "missing_scope": scope})
        return None, api_error(403, f"该密钥没有 {scope} 权限", code="missing_scope")
    return org, None


def _by() -> str:
    return current_user.email


# -- keys ---------------------------------------------------------------------------------------

@blp.route("/clients", methods=["GET"])
@auth_required("token", "session")
def list_clients():
    org, denied = _admin()
    if denied:
        return denied
    return {"scopes": exchange_keys.SCOPES,
            "items": [exchange_keys.as_json(c) for c in exchange_keys.list_for(org)]}


@blp.route("/clients", methods=["POST"])
@auth_required("token", "session")
def create_client():
    """{"name": label, "scopes": [...]} -> the key, shown this once."""
    org, denied = _admin()
    if denied:
        return denied
    try:
        data = _body()
        c, key = exchange_keys.create(org, label=data.get("name"), scopes=data.get("scopes"),
                                      by=_by())
    except ApplicationError as exc:
        return _error(exc)
    return {**exchange_keys.as_json(c), "api_key": key}, 201


@blp.route("/clients/<int:client_id>/revoke", methods=["POST"])
@auth_required("token", "session")
def revoke_client(client_id: int):
    org, denied = _admin()
    if denied:
        return denied
    try:
        c = exchange_keys.revoke(org, client_id=client_id, by=_by())
    except ApplicationError as exc:
        return _error(exc)
    return exchange_keys.as_json(c)


# -- webhooks -----------------------------------------------------------------------------------

@blp.route("/webhooks", methods=["GET"])
@auth_required("token", "session")
def list_webhooks():
    org, denied = _admin()
    if denied:
        return denied
    return {"events": webhooks.EVENTS,
            "items": [webhooks.endpoint_json(e) for e in webhooks.list_for(org)]}


@blp.route("/webhooks", methods=["POST"])
@auth_required("token", "session")
def create_webhook():
    """{"url": "https://...", "events": [...] (default all)} -> the secret, shown once."""
    org, denied = _admin()
    if denied:
        return denied
    try:
        data = _body()
        ep, secret = webhooks.register(org, url=data.get("url"), events=data.get("events"),
                                       by=_by())
    except ApplicationError as exc:
        return _error(exc)
    return {**webhooks.endpoint_json(ep), "secret": secret}, 201


@blp.route("/webhooks/<string:uid>/<any(disable,enable):action>", methods=["POST"])
@auth_required("token", "session")
def toggle_webhook(uid: str, action: str):
    org, denied = _admin()
    if denied:
        return denied
    try:
        ep = webhooks.set_active(org, uid=uid, active=action == "enable", by=_by())
    except ApplicationError as exc:
        return _error(exc)
    return webhooks.endpoint_json(ep)


@blp.route("/deliveries", methods=["GET"])
@auth_required("token", "session")
def list_deliveries():
    """The delivery log (newest first; `?webhook=` narrows it to one endpoint)."""
    org, denied = _admin()
    if denied:
        return denied
    uid = request.args.get("webhook")
    if uid:
        try:
            webhooks.get(org, uid=uid)
        except ApplicationError as exc:
            return _error(exc)
    return {"items": [webhooks.delivery_json(d)
                      for d in webhooks.deliveries(org, endpoint_uid=uid)]}


@blp.route("/deliveries/<string:uid>/redeliver", methods=["POST"])
@auth_required("token", "session")
def redeliver(uid: str):
    org, denied = _admin()
    if denied:
        return denied
    try:
        d = webhooks.redeliver(org, uid=uid, by=_by())
    except ApplicationError as exc:
        return _error(exc)
    return webhooks.delivery_json(d), 202


# -- reads (the exchange's keys) ----------------------------------------------------------------

@blp.route("/lots", methods=["GET"])
@auth_required("token", "session")
def lots():
    """Certified lots that reached the exchange's account: serials, vintage, project."""
    org, denied = _reader("lots.read")
    if denied:
        return denied
    return {"items": exchange_keys.lots(org)}


@blp.route("/holdings", methods=["GET"])
@auth_required("token", "session")
def holdings():
    org, denied = _reader("holdings.read")
    if denied:
        return denied
    return exchange_keys.holdings(org)


@blp.route("/enterprises", methods=["GET"])
@auth_required("token", "session")
def consenting():
    """Enterprises whose live consent lets this exchange read their grade."""
    org, denied = _reader("grades.read")
    if denied:
        return denied
    return {"items": [{"uscc": e.uscc, "name": e.name}
                      for e in consent.consenting(bank=org)]}


@blp.route("/enterprises/<string:uscc>/grade", methods=["GET"])
@auth_required("token", "session")
def grade(uscc: str):
    """The grade (and changes since consent) of a consenting enterprise; 404 otherwise.
    Every read is recorded for the enterprise to see."""
    org, denied = _reader("grades.read")
    if denied:
        return denied
    out = consent.read_grade(bank=org, uscc=uscc, user=current_user)
    if out is None:
        return _deny("grade", status=404)
    return out
