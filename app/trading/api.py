"""/api/v1 trading: methodologies, reduction calculation, projects and the asset ledger."""

from __future__ import annotations

from flask_security import auth_required, current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from app.accounting.schemas import plain
from app.api import api_error
from app.audit import service as audit
from app.crypto.signing import canonical_json, public_pem
from app.db import utcnow
from app.extensions import db
from app.identity.scope import current_scope, get_scoped, get_scoped_or_404, scoped_select
from app.trading import ledger, methodologies, service
from app.trading.models import Account, Lot, Movement, Project
from app.trading.schemas import IssueIn, MoveIn, ProjectIn, ReductionIn
from app.uow import commit

blp = Blueprint("trading_api", __name__, url_prefix="/api/v1",
                description="减排项目与碳资产 Reduction projects and carbon assets")


@blp.route("/reductions/methodologies")
@auth_required("token", "session")
@blp.response(200)
def list_methodologies():
    """The methodologies (formula, parameters, monitoring plan, sources)."""
    return methodologies.list_all()


@blp.route("/reductions/calculate", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ReductionIn)
@blp.response(200)
def calculate(body):
    """One monitoring period's reduction (nothing is stored): baseline, project, leakage and
    reduction in tCO2e as Decimal strings, with one derivation line per parameter and term."""
    try:
        return methodologies.calculate(body["methodology"], body["parameters"])
    except methodologies.MethodologyError as exc:
        return api_error(422, "数据校验失败：" + "、".join(sorted(exc.fields)),
                         fields=exc.fields)


@blp.route("/trading/projects")
@auth_required("token", "session")
@blp.response(200)
def list_projects():
    """Reduction projects within the caller's scope."""
    return plain([service.to_dict(p) for p in service.list(scope=current_scope())])


@blp.route("/trading/projects", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(ProjectIn)
@blp.response(201)
def create_project(body):
    """Register a project of an enterprise within the caller's scope."""
    try:
        p = service.create(data=body, scope=current_scope(), user=current_user)
    except service.ProjectInvalid as exc:
        return api_error(422, "数据校验失败：" + "、".join(sorted(exc.fields)),
                         fields=exc.fields)
    return plain(service.to_dict(p))


@blp.route("/trading/projects/<string:code>")
@auth_required("token", "session")
@blp.response(200)
def get_project(code):
    return plain(service.to_dict(get_scoped_or_404(Project, code, by="code")))


def _refused(exc: ledger.LedgerRefused, action: str, body: dict):
    """Refusals leave an audit record of their own (the failed change is rolled back)."""
    db.session.rollback()
    audit.record("trading.refused", object_type="trading_ledger", user=current_user,
                 summary={"action": action, "reason": exc.message, "field": exc.field,
                          "request": {k: v for k, v in body.items() if k != "reason"}})
    commit()
    return api_error(exc.status, exc.message, code=exc.code, fields={exc.field: exc.message})


@blp.route("/assets/issuances", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(IssueIn)
@blp.response(201)
def issue(body):
    """Issue certified reductions to the owner's holding account (platform administrator or
    final reviewer only)."""
    if not (current_user.has_permission("case.admin") or current_user.has_permission("publish")):
        return api_error(403, "只有平台管理员或终审人员可以签发")
    project = get_scoped(Project, body["project"], by="code")
    if project is None:
        return api_error(404, "项目不存在或不在您的数据范围内", fields={"project": "不存在"})
    try:
        lot = ledger.issue(project=project, vintage=body["vintage"], quantity=body["quantity"],
                           to_account=ledger.holding_account(enterprise=project.enterprise),
                           reference=body.get("reference"), user=current_user)
    except ledger.LedgerRefused as exc:
        return _refused(exc, "issue", body)
    return {"lot": lot.id, "quantity": body["quantity"],
            "serial_start": ledger.format_serial(project.code, lot.vintage, lot.serial_start),
            "serial_end": ledger.format_serial(project.code, lot.vintage, lot.serial_end)}


def _account(code: str | None) -> Account | None:
    return db.session.scalar(select(Account).where(Account.code == (code or "")))


def _move(kind: str, body: dict):
    try:
        lot_id, start = body.get("lot"), None
        if body.get("serial"):
            parsed = ledger.parse_serial(body["serial"])
            lot = None
            if parsed:
                lot = db.session.scalar(select(Lot).join(Project).where(
                    Project.code == parsed[0], Lot.vintage == parsed[1],
                    Lot.serial_start <= parsed[2], Lot.serial_end >= parsed[2]))
            if lot is None or (lot_id is not None and lot.id != lot_id):
                raise ledger.LedgerRefused("序列号不存在或不属于该批次", field="serial",
                                           code="foreign_serial")
            lot_id, start = lot.id, parsed[2]
        if lot_id is None:
            raise ledger.LedgerRefused("必须给出 lot 或 serial", field="lot")
        debit = _account(body["from_account"])
        if debit is None:
            raise ledger.LedgerRefused("转出账户不在您的数据范围内", field="from_account",
                                       code="out_of_scope", status=403)
        credit = _account(body.get("to_account")) if kind == "transfer" else None
        moves = ledger.move(kind=kind, lot_id=lot_id, from_account_id=debit.id,
                            to_account_id=credit.id if credit else None,
                            quantity=body["quantity"], serial_start=start,
                            reason=body.get("reason"), scope=current_scope(), user=current_user)
    except ledger.LedgerRefused as exc:
        return _refused(exc, kind, body)
    lot = db.session.get(Lot, lot_id)
    fmt = lambda n: ledger.format_serial(lot.project.code, lot.vintage, n)  # noqa: E731
    return {"kind": kind, "lot": lot_id, "quantity": body["quantity"],
            "movements": [{"id": m.id, "serial_start": fmt(m.serial_start),
                           "serial_end": fmt(m.serial_end), "quantity": m.quantity,
                           "signature": m.signature} for m in moves],
            "balance": ledger.balance(account_id=debit.id)}


@blp.route("/assets/transfers", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(MoveIn)
@blp.response(201)
def transfer(body):
    """Transfer serials to another enterprise's or an exchange's account."""
    if not body.get("to_account"):
        return api_error(422, "转让必须给出转入账户", fields={"to_account": "必填"})
    return _move("transfer", body)


@blp.route("/assets/retirements", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(MoveIn)
@blp.response(201)
def retire(body):
    """Retire serials for the holder's own offset (reason required)."""
    return _move("retire", body)


@blp.route("/assets/cancellations", methods=["POST"])
@auth_required("token", "session")
@blp.arguments(MoveIn)
@blp.response(201)
def cancel(body):
    """Cancel serials (platform administrator only)."""
    if not current_user.has_permission("case.admin"):
        return api_error(403, "只有平台管理员可以作废")
    return _move("cancel", body)


@blp.route("/assets/accounts")
@auth_required("token", "session")
@blp.response(200)
def list_accounts():
    """Accounts within the caller's scope with their active balance."""
    accs = db.session.scalars(scoped_select(Account).order_by(Account.code)).all()
    return [{"code": a.code, "name": a.name, "kind": a.kind,
             "balance": ledger.balance(account_id=a.id)} for a in accs]


@blp.route("/assets/accounts/<string:code>/holdings")
@auth_required("token", "session")
@blp.response(200)
def account_holdings(code):
    acc = get_scoped_or_404(Account, code, by="code")
    return {"code": acc.code, "name": acc.name, "kind": acc.kind,
            "balance": ledger.balance(account_id=acc.id),
            "holdings": ledger.holdings(account_id=acc.id)}


@blp.route("/assets/serials/<string:serial>")
@blp.response(200)
def serial_status(serial):
    """Public: a serial's status (holder kind, vintage, project, retired or not)."""
    found = ledger.serial_status(serial)
    if found is None:
        return api_error(404, "序列号不存在", code="not_found", fields={"serial": "不存在"})
    return found


def _visible_movement(movement_id: int) -> tuple[Movement, Account, Account] | None:
    """A movement the caller may see: its debit or credit account is in the caller's scope."""
    mv = db.session.get(Movement, movement_id)
    if mv is None:
        return None
    debit, credit = get_scoped(Account, mv.debit_account_id), get_scoped(
        Account, mv.credit_account_id)
    if debit is None and credit is None:
        return None
    return mv, db.session.get(Account, mv.debit_account_id), db.session.get(
        Account, mv.credit_account_id)


def _movement_out(mv: Movement, debit: Account, credit: Account) -> dict:
    record = ledger.movement_record(mv, lot=db.session.get(Lot, mv.lot_id), debit=debit,
                                    credit=credit)
    return {"record": record, "canonical": canonical_json(record).decode(),
            "signature": mv.signature,
            "signature_algorithm": "SM2 (SM3, DER, id 1234567812345678)",
            "signature_valid": ledger.verify_movement(mv), "public_key_pem": public_pem(),
            "confirmed_at": mv.confirmed_at.isoformat() + "Z" if mv.confirmed_at else None,
            "confirmed_by": mv.confirmed_by}


@blp.route("/assets/movements/<int:movement_id>")
@auth_required("token", "session")
@blp.response(200)
def movement(movement_id):
    """A movement's canonical record, its SM2 signature and whether the signature verifies
    (`openssl pkeyutl -verify` over `canonical` with the platform public key)."""
    found = _visible_movement(movement_id)
    if found is None:
        return api_error(404, "变动记录不存在", code="not_found")
    return _movement_out(*found)


@blp.route("/assets/accounts/<string:code>/incoming")
@auth_required("token", "session")
@blp.response(200)
def incoming(code):
    """Transfers into an account (an exchange's client lists what awaits its confirmation)."""
    acc = get_scoped_or_404(Account, code, by="code")
    rows = db.session.scalars(select(Movement).where(
        Movement.credit_account_id == acc.id, Movement.kind == "transfer")
        .order_by(Movement.id)).all()
    return [_movement_out(m, db.session.get(Account, m.debit_account_id), acc) for m in rows]


@blp.route("/assets/movements/<int:movement_id>/confirm", methods=["POST"])
@auth_required("token", "session")
@blp.response(200)
def confirm(movement_id):
    """The receiving exchange confirms a transfer into its account (recorded and audited).
    The serials already sit in exactly one place, the exchange account; confirming records
    receipt, it does not move them. Only a caller whose scope holds the exchange may confirm;
    a machine client also needs the `transfers.confirm` scope."""
    found = _visible_movement(movement_id)
    if found is None:
        return api_error(404, "变动记录不存在", code="not_found")
    mv, _debit, credit = found
    if current_user.user_class == "machine" and not current_user.has_permission(
            "transfers.confirm"):
        audit.record("trading.confirm_refused", object_type="trading_movement",
                     object_id=mv.id, user=current_user,
                     summary={"account": credit.code, "missing_scope": "transfers.confirm"})
        commit()
        return api_error(403, "该密钥没有确认转入的权限（transfers.confirm）",
                         code="missing_scope")
    scope = current_scope()
    if mv.kind != "transfer" or credit.kind != "exchange" or not (
            scope.all or credit.institution_code in scope.institution):
        audit.record("trading.confirm_refused", object_type="trading_movement",
                     object_id=mv.id, user=current_user, summary={"account": credit.code})
        commit()
        return api_error(403, "只有接收的交易所可以确认转入", code="forbidden")
    if mv.confirmed_at is None:
        from app.exchange.clients import client_name
        mv.confirmed_at = utcnow()
        mv.confirmed_by = client_name(current_user) or current_user.email
        audit.record("trading.confirm", object_type="trading_movement", object_id=mv.id,
                     user=current_user, summary={"account": credit.code,
                                                 "quantity": mv.quantity})
        commit()
    return _movement_out(mv, db.session.get(Account, mv.debit_account_id), credit)
