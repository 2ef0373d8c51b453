"""The exchange's page (/onboarding/exchange): its account's lots and holdings for every
member; API keys, webhooks and the delivery log for its administrator. A new key or
webhook secret is rendered in the answer to the POST itself, once, never flashed or stored."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user, permissions_accepted

from app.identity.scope import current_scope
from app.onboarding import consent, exchange_keys, webhooks
from app.onboarding.exchange_models import EVENTS
from app.onboarding.service import ApplicationError
from app.uow import refused

bp = Blueprint("exchange_ws", __name__, url_prefix="/onboarding")


def _context(org, manage: bool) -> dict:
    ctx = {"org": org, "manage": manage, "lots": exchange_keys.lots(org),
           "holdings": exchange_keys.holdings(org), "scopes": exchange_keys.SCOPES,
           "events": EVENTS, "consenting": consent.consenting(bank=org)}
    if manage:
        ctx.update(keys=exchange_keys.list_for(org), webhooks=webhooks.list_for(org),
                   deliveries=webhooks.deliveries(org, limit=50))
    return ctx


@bp.route("/exchange", methods=["GET", "POST"])
@auth_required("session")
@permissions_accepted("institution.workspace")
def exchange():
    org = exchange_keys.exchange_of(current_scope())
    if org is None:
        abort(403)
    manage = current_user.has_permission("org.manage")
    errors: dict[str, str] = {}
    shown: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not manage:
            abort(403)
        form, by = request.form, current_user.email
        try:
            if form.get("action") == "create_key":
                c, key = exchange_keys.create(org, label=form.get("label"),
                                              scopes=form.getlist("scopes"), by=by)
                shown = {"kind": "key", "name": c.label, "value": key}
            elif form.get("action") == "revoke_key":
                cid = form.get("client", "")
                exchange_keys.revoke(org, client_id=int(cid) if cid.isdigit() else 0, by=by)
                flash("密钥已吊销，使用它的请求自下一次起被拒绝（401）。", "success")
            elif form.get("action") == "create_webhook":
                ep, secret = webhooks.register(org, url=form.get("url"),
                                               events=form.getlist("events"), by=by)
                shown = {"kind": "secret", "name": ep.url, "value": secret}
            elif form.get("action") in ("enable_webhook", "disable_webhook"):
                webhooks.set_active(org, uid=form.get("webhook", ""),
                                    active=form["action"] == "enable_webhook", by=by)
                flash("已更新回调端点", "success")
            elif form.get("action") == "redeliver":
                webhooks.redeliver(org, uid=form.get("delivery", ""), by=by)
                flash("已重新排队发送", "success")
            else:
                abort(400)
        except ApplicationError as exc:
            refused("exchange.refused", object_type="exchange_workspace", user=current_user,
                    summary={"path": request.path, "action": form.get("action"),
                             "status": exc.status, "fields": exc.fields})
            if exc.status == 404:
                abort(404)
            errors, status = exc.fields, exc.status
        else:
            if not shown:
                return redirect(url_for("exchange_ws.exchange"))
    return render_template("onboarding/exchange.html", errors=errors, shown=shown,
                           **_context(org, manage)), status
