"""The carbon asset ledger: issue, transfer, retire and cancel serial ranges (R-6.3b).

Concurrency: every movement first locks its lot row (`SELECT ... FOR UPDATE`), then reads the
lot's blocks; two movements of the same lot therefore run one after the other and the second
sees the first's result (READ COMMITTED re-reads after the lock), so it cannot spend the same
serials twice. Services flush, never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.audit import service as audit
from app.crypto.signing import canonical_json, sign_document, verify_document
from app.db import utcnow
from app.extensions import db
from app.identity.datascope import DataScope
from app.trading.models import (
    ACCOUNT_KINDS,
    MOVEMENT_KINDS,
    SYSTEM_KINDS,
    Account,
    Block,
    Lot,
    Movement,
    Project,
)

SYSTEM_CODES = {"issuance": "SYS-ISSUANCE", "retirement": "SYS-RETIREMENT",
                "cancellation": "SYS-CANCELLATION"}
STATUS_LABELS = {"active": "有效", "retired": "已注销（抵销）", "cancelled": "已作废"}


class LedgerRefused(ValueError):
    """A movement the ledger refuses; `field` names the offending input."""

    def __init__(self, message: str, *, field: str, code: str = "refused", status: int = 422):
        super().__init__(message)
        self.message, self.field, self.code, self.status = message, field, code, status


# -- serials ------------------------------------------------------------------------------------

def format_serial(project_code: str, vintage: int, n: int) -> str:
    return f"{project_code}-{vintage}-{n:09d}"


def parse_serial(serial: str) -> tuple[str, int, int] | None:
    parts = (serial or "").strip().rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2])


# -- accounts -----------------------------------------------------------------------------------

def system_account(kind: str) -> Account:
    code = SYSTEM_CODES[kind]
    acc = db.session.scalar(select(Account).where(Account.code == code))
    if acc is None:
        acc = Account(code=code, name=ACCOUNT_KINDS[kind], kind=kind)
        db.session.add(acc)
        db.session.flush()
    return acc


def holding_account(*, enterprise) -> Account:
    """The enterprise's holding account (created on first use)."""
    code = f"E-{enterprise.uscc}"
    acc = db.session.scalar(select(Account).where(Account.code == code))
    if acc is None:
        acc = Account(code=code, name=f"{enterprise.name} 持有账户", kind="holding",
                      enterprise_uscc=enterprise.uscc, region_code=enterprise.region_code)
        db.session.add(acc)
        db.session.flush()
    return acc


def exchange_account(*, institution_code: str, name: str) -> Account:
    code = f"X-{institution_code}"
    acc = db.session.scalar(select(Account).where(Account.code == code))
    if acc is None:
        acc = Account(code=code, name=name, kind="exchange", institution_code=institution_code)
        db.session.add(acc)
        db.session.flush()
    return acc


def balance(*, account_id: int, lot_id: int | None = None, status: str = "active") -> int:
    stmt = select(func.coalesce(func.sum(Block.serial_end - Block.serial_start + 1), 0)).where(
        Block.account_id == account_id, Block.status == status)
    if lot_id is not None:
        stmt = stmt.where(Block.lot_id == lot_id)
    return int(db.session.scalar(stmt))


def holdings(*, account_id: int) -> list[dict]:
    rows = db.session.execute(
        select(Block, Lot, Project).join(Lot, Block.lot_id == Lot.id)
        .join(Project, Lot.project_id == Project.id)
        .where(Block.account_id == account_id).order_by(Lot.id, Block.serial_start)).all()
    return [{"lot": lot.id, "project": p.code, "vintage": lot.vintage, "status": b.status,
             "serial_start": format_serial(p.code, lot.vintage, b.serial_start),
             "serial_end": format_serial(p.code, lot.vintage, b.serial_end),
             "quantity": b.quantity} for b, lot, p in rows]


# -- movements ----------------------------------------------------------------------------------

def movement_record(mv: Movement, *, lot: Lot, debit: Account, credit: Account) -> dict:
    """The canonical record a movement's SM2 signature covers: who moved which serials where,
    when and why, with the serials spelled as issued (project code and vintage)."""
    code, vintage = lot.project.code, lot.vintage
    return {"id": mv.id, "kind": mv.kind, "lot": lot.id, "project": code, "vintage": vintage,
            "debit": debit.code, "credit": credit.code,
            "serial_start": format_serial(code, vintage, mv.serial_start),
            "serial_end": format_serial(code, vintage, mv.serial_end),
            "quantity": mv.quantity, "reason": mv.reason, "user_id": mv.user_id,
            "created_at": mv.created_at.isoformat(timespec="microseconds") + "Z"}


def _record(kind: str, lot: Lot, debit: Account, credit: Account, a: int, b: int,
            reason: str | None, user: Any) -> Movement:
    mv = Movement(kind=kind, lot_id=lot.id, debit_account_id=debit.id,
                  credit_account_id=credit.id, serial_start=a, serial_end=b,
                  quantity=b - a + 1, reason=reason, user_id=getattr(user, "id", None),
                  created_at=utcnow())
    db.session.add(mv)
    db.session.flush()  # the id is part of the signed record
    record = movement_record(mv, lot=lot, debit=debit, credit=credit)
    mv.signature = sign_document(canonical_json(record)).hex()
    return mv


def verify_movement(mv: Movement) -> bool:
    """Recompute the canonical record from the stored row and check its SM2 signature."""
    if not mv.signature:
        return False
    lot = db.session.get(Lot, mv.lot_id)
    debit = db.session.get(Account, mv.debit_account_id)
    credit = db.session.get(Account, mv.credit_account_id)
    if lot is None or debit is None or credit is None:
        return False
    try:
        sig = bytes.fromhex(mv.signature)
    except ValueError:
        return False
    record = movement_record(mv, lot=lot, debit=debit, credit=credit)
    return verify_document(canonical_json(record), sig)


def issue(*, project: Project, vintage: int, quantity: int, to_account: Account,
          reference: str | None = None, user: Any = None) -> Lot:
    """Certified reductions become a lot with the project's next serial range."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise LedgerRefused("签发数量必须是正整数（吨 CO2e）", field="quantity")
    if to_account.kind in SYSTEM_KINDS:
        raise LedgerRefused("不能签发到系统账户", field="to_account")
    db.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    last = db.session.scalar(select(func.max(Lot.serial_end)).where(
        Lot.project_id == project.id)) or 0
    lot = Lot(project_id=project.id, vintage=vintage, serial_start=last + 1,
              serial_end=last + quantity, reference=reference)
    db.session.add(lot)
    db.session.flush()
    db.session.add(Block(lot_id=lot.id, account_id=to_account.id, serial_start=lot.serial_start,
                         serial_end=lot.serial_end, status="active"))
    _record("issue", lot, system_account("issuance"), to_account, lot.serial_start,
            lot.serial_end, reference, user)
    db.session.flush()
    audit.record("trading.issue", object_type="trading_lot", object_id=lot.id, user=user,
                 summary={"project": project.code, "vintage": vintage, "quantity": quantity,
                          "to": to_account.code,
                          "serials": [format_serial(project.code, vintage, lot.serial_start),
                                      format_serial(project.code, vintage, lot.serial_end)]})
    if to_account.kind == "exchange":
        from app.onboarding import exchange_events  # webhooks of the receiving exchange

        exchange_events.lot_reached(lot=lot, account=to_account)
    return lot


def may_move_from(account: Account, scope: DataScope) -> bool:
    """Only the holder (or the platform) moves assets: a region scope does not suffice."""
    if scope.all:
        return True
    return ((account.enterprise_uscc is not None and account.enterprise_uscc in scope.enterprise)
            or (account.institution_code is not None
                and account.institution_code in scope.institution))


def move(*, kind: str, lot_id: int, from_account_id: int, quantity: Any,
         to_account_id: int | None = None, serial_start: int | None = None,
         reason: str | None = None, scope: DataScope, user: Any = None) -> list[Movement]:
    """Transfer / retire / cancel `quantity` serials of a lot held by the from-account; the
    first serials held, or exactly serial_start..serial_start+quantity-1."""
    if kind not in ("transfer", "retire", "cancel"):
        raise LedgerRefused("未知的变动类型", field="kind")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise LedgerRefused("数量必须是正整数（吨 CO2e）", field="quantity")
    lot = db.session.scalar(select(Lot).where(Lot.id == lot_id).with_for_update())
    if lot is None:
        raise LedgerRefused("批次不存在", field="lot", status=404, code="not_found")
    debit = db.session.get(Account, from_account_id)
    if debit is None or not may_move_from(debit, scope):
        raise LedgerRefused("转出账户不在您的数据范围内", field="from_account",
                            code="out_of_scope", status=403)
    if kind == "transfer":
        credit = db.session.get(Account, to_account_id) if to_account_id else None
        if credit is None or credit.kind in SYSTEM_KINDS:
            raise LedgerRefused("转入账户不存在或不能接收转让", field="to_account")
        if credit.id == debit.id:
            raise LedgerRefused("转入账户与转出账户相同", field="to_account")
        new_status = "active"
    else:
        if kind == "retire" and not (reason or "").strip():
            raise LedgerRefused("注销（抵销）必须说明原因", field="reason")
        credit = system_account("retirement" if kind == "retire" else "cancellation")
        new_status = "retired" if kind == "retire" else "cancelled"
    ranges = _select_ranges(lot, debit, quantity, serial_start)
    moved = [_carve(block, a, b, credit, new_status) for block, a, b in ranges]
    movements = [_record(kind, lot, debit, credit, a, b, reason, user) for a, b in moved]
    db.session.flush()
    code, vintage = lot.project.code, lot.vintage
    audit.record(f"trading.{kind}", object_type="trading_lot", object_id=lot.id, user=user,
                 summary={"from": debit.code, "to": credit.code, "quantity": quantity,
                          "reason": reason,
                          "serials": [[format_serial(code, vintage, a),
                                       format_serial(code, vintage, b)] for a, b in moved]})
    if credit.kind == "exchange":
        from app.onboarding import exchange_events  # webhooks of the receiving exchange

        exchange_events.transferred(lot=lot, debit=debit, credit=credit, movements=movements)
    return movements


def _select_ranges(lot: Lot, debit: Account, quantity: int,
                   serial_start: int | None) -> list[tuple[Block, int, int]]:
    if serial_start is None:
        blocks = db.session.scalars(
            select(Block).where(Block.lot_id == lot.id, Block.account_id == debit.id,
                                Block.status == "active").order_by(Block.serial_start)).all()
        held = sum(b.quantity for b in blocks)
        if held < quantity:
            raise LedgerRefused(f"数量 {quantity} 超过该批次可用余额 {held}（吨 CO2e）",
                                field="quantity", code="insufficient_balance")
        out, left = [], quantity
        for b in blocks:
            take = min(left, b.quantity)
            out.append((b, b.serial_start, b.serial_start + take - 1))
            left -= take
            if not left:
                break
        return out
    end = serial_start + quantity - 1
    if serial_start < lot.serial_start or end > lot.serial_end:
        raise LedgerRefused("序列号不属于该批次", field="serial", code="foreign_serial")
    blocks = db.session.scalars(
        select(Block).where(Block.lot_id == lot.id, Block.serial_end >= serial_start,
                            Block.serial_start <= end).order_by(Block.serial_start)).all()
    for b in blocks:
        if b.status != "active":
            raise LedgerRefused(f"序列号已{STATUS_LABELS[b.status]}，不能再变动",
                                field="serial", code="serial_" + b.status)
        if b.account_id != debit.id:
            raise LedgerRefused("序列号不属于转出账户", field="serial", code="foreign_serial")
    return [(b, max(b.serial_start, serial_start), min(b.serial_end, end)) for b in blocks]


def _carve(block: Block, a: int, b: int, credit: Account, status: str) -> tuple[int, int]:
    """Move serials a..b of `block` to `credit`: the block row becomes the middle part; the
    parts left and right of it stay with the holder as new rows."""
    left = (block.serial_start, a - 1) if a > block.serial_start else None
    right = (b + 1, block.serial_end) if b < block.serial_end else None
    holder, old_status = block.account_id, block.status
    block.serial_start, block.serial_end = a, b
    block.account_id, block.status = credit.id, status
    db.session.flush()
    for part in (left, right):
        if part:
            db.session.add(Block(lot_id=block.lot_id, account_id=holder, serial_start=part[0],
                                 serial_end=part[1], status=old_status))
    db.session.flush()
    return a, b


# -- public check -------------------------------------------------------------------------------

def serial_status(serial: str) -> dict | None:
    """Public (6.3a 碳资产核查服务): where a serial is, without naming the holder."""
    parsed = parse_serial(serial)
    if parsed is None:
        return None
    code, vintage, n = parsed
    row = db.session.execute(
        select(Block, Lot, Project).join(Lot, Block.lot_id == Lot.id)
        .join(Project, Lot.project_id == Project.id)
        .where(Project.code == code, Lot.vintage == vintage, Block.serial_start <= n,
               Block.serial_end >= n)).first()
    if row is None:
        return None
    block, lot, project = row
    return {"serial": format_serial(code, vintage, n), "status": block.status,
            "status_label": STATUS_LABELS[block.status],
            "retired": block.status == "retired", "holder_kind": block.account.kind,
            "holder_kind_label": ACCOUNT_KINDS[block.account.kind], "vintage": vintage,
            "project": {"code": project.code, "name": project.name, "type": project.type,
                        "methodology": project.methodology},
            "lot": {"serial_start": format_serial(code, vintage, lot.serial_start),
                    "serial_end": format_serial(code, vintage, lot.serial_end),
                    "issued_at": lot.issued_at.isoformat() + "Z", "reference": lot.reference}}


def kinds() -> dict[str, str]:
    return dict(MOVEMENT_KINDS)
