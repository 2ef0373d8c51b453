"""Trading pages (thin): project registry (scoped), account holdings, public serial check."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_security import auth_required

from app.extensions import db
from app.identity.scope import current_scope, scoped_select
from app.trading import ledger, methodologies, service
from app.trading.models import ACCOUNT_KINDS, Account

bp = Blueprint("trading", __name__)


@bp.route("/trading/projects")
@auth_required("session")
def projects():
    rows = [service.to_dict(p) for p in service.list(scope=current_scope())]
    names = {m["code"]: m["name"] for m in methodologies.list_all()}
    accounts = db.session.scalars(scoped_select(Account).order_by(Account.code)).all()
    balances = {a.id: ledger.balance(account_id=a.id) for a in accounts}
    return render_template("trading/projects.html", projects=rows, methodology_names=names,
                           accounts=accounts, balances=balances, kinds=ACCOUNT_KINDS)


@bp.route("/assets/serials")
def serial_check():
    """Public (6.3a 碳资产核查服务): anyone can check a serial number's status."""
    serial = (request.args.get("serial") or "").strip()
    found = ledger.serial_status(serial) if serial else None
    status = 404 if serial and found is None else 200
    return render_template("trading/serial.html", serial=serial, found=found), status


