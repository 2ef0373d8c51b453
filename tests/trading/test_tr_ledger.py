"""The carbon asset ledger: serial ranges, double entry, refusals, audit, public check."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.identity.datascope import DataScope
from app.trading import ledger
from app.trading.models import Account, Block, Lot, Movement
from tests.trading.conftest import ALL


def _setup(make_ent, make_project, db):
    a, b = make_ent(1), make_ent(2)
    p = make_project(a)
    acc_a = ledger.holding_account(enterprise=a)
    acc_b = ledger.holding_account(enterprise=b)
    lot = ledger.issue(project=p, vintage=2025, quantity=100, to_account=acc_a,
                       reference="CERT-1")
    db.session.commit()
    return a, b, p, acc_a, acc_b, lot


def check_invariants(session) -> None:
    """Blocks partition every lot; each account's movements net to its blocks; no negative."""
    for lot in session.scalars(select(Lot)).all():
        blocks = session.scalars(select(Block).where(Block.lot_id == lot.id)
                                 .order_by(Block.serial_start)).all()
        expect = lot.serial_start
        for b in blocks:
            assert b.serial_start == expect and b.serial_end >= b.serial_start
            expect = b.serial_end + 1
        assert expect == lot.serial_end + 1
    total = 0
    for acc in session.scalars(select(Account)).all():
        credit = session.scalar(select(func.coalesce(func.sum(Movement.quantity), 0))
                                .where(Movement.credit_account_id == acc.id))
        debit = session.scalar(select(func.coalesce(func.sum(Movement.quantity), 0))
                               .where(Movement.debit_account_id == acc.id))
        held = session.scalar(select(func.coalesce(
            func.sum(Block.serial_end - Block.serial_start + 1), 0))
            .where(Block.account_id == acc.id))
        total += credit - debit
        if acc.kind == "issuance":
            assert held == 0
        else:
            assert credit - debit == held >= 0
    assert total == 0  # double entry


def test_issue_gives_unique_consecutive_serials(make_ent, make_project, db):
    a, b, p, acc_a, acc_b, lot = _setup(make_ent, make_project, db)
    lot2 = ledger.issue(project=p, vintage=2026, quantity=50, to_account=acc_a)
    db.session.commit()
    assert (lot.serial_start, lot.serial_end) == (1, 100)
    assert (lot2.serial_start, lot2.serial_end) == (101, 150)
    assert ledger.balance(account_id=acc_a.id) == 150
    assert ledger.format_serial(p.code, 2025, 1) == "PV1-2025-000000001"
    check_invariants(db.session)


def test_transfer_retire_cancel_move_serials(make_ent, make_project, db):
    a, b, p, acc_a, acc_b, lot = _setup(make_ent, make_project, db)
    mv = ledger.move(kind="transfer", lot_id=lot.id, from_account_id=acc_a.id,
                     to_account_id=acc_b.id, quantity=30, scope=ALL)
    assert [(m.serial_start, m.serial_end) for m in mv] == [(1, 30)]
    # an exact range from the middle splits the block in three
    ledger.move(kind="retire", lot_id=lot.id, from_account_id=acc_a.id, quantity=10,
                serial_start=51, reason="2025 年度自身排放抵销", scope=ALL)
    ledger.move(kind="cancel", lot_id=lot.id, from_account_id=acc_a.id, quantity=5, scope=ALL)
    db.session.commit()
    assert ledger.balance(account_id=acc_a.id) == 100 - 30 - 10 - 5
    assert ledger.balance(account_id=acc_b.id) == 30
    retired = ledger.system_account("retirement")
    assert ledger.balance(account_id=retired.id, status="retired") == 10
    s = ledger.serial_status("PV1-2025-000000055")
    assert s["retired"] is True and s["holder_kind"] == "retirement"
    assert ledger.serial_status("PV1-2025-000000031")["status"] == "cancelled"
    assert ledger.serial_status("PV1-2025-000000001")["holder_kind"] == "holding"
    assert ledger.serial_status("PV1-2025-000000101") is None
    check_invariants(db.session)


@pytest.mark.parametrize("kwargs,field,code", [
    ({"quantity": 101}, "quantity", "insufficient_balance"),
    ({"quantity": 0}, "quantity", "refused"),
    ({"quantity": 5, "serial_start": 99}, "serial", "foreign_serial"),  # 99..103 beyond lot
])
def test_refusals(make_ent, make_project, db, kwargs, field, code):
    a, b, p, acc_a, acc_b, lot = _setup(make_ent, make_project, db)
    with pytest.raises(ledger.LedgerRefused) as exc:
        ledger.move(kind="transfer", lot_id=lot.id, from_account_id=acc_a.id,
                    to_account_id=acc_b.id, scope=ALL, **kwargs)
    assert (exc.value.field, exc.value.code) == (field, code)


def test_retired_and_foreign_serials_refused(make_ent, make_project, db):
    a, b, p, acc_a, acc_b, lot = _setup(make_ent, make_project, db)
    ledger.move(kind="retire", lot_id=lot.id, from_account_id=acc_a.id, quantity=10,
                reason="抵销", scope=ALL)
    ledger.move(kind="transfer", lot_id=lot.id, from_account_id=acc_a.id,
                to_account_id=acc_b.id, quantity=10, scope=ALL)  # serials 11..20 to B
    db.session.commit()
    with pytest.raises(ledger.LedgerRefused) as exc:
        ledger.move(kind="transfer", lot_id=lot.id, from_account_id=acc_a.id,
                    to_account_id=acc_b.id, quantity=1, serial_start=5, scope=ALL)
    assert exc.value.code == "serial_retired"
    with pytest.raises(ledger.LedgerRefused) as exc:
        ledger.move(kind="transfer", lot_id=lot.id, from_account_id=acc_a.id,
                    to_account_id=acc_b.id, quantity=1, serial_start=15, scope=ALL)
    assert exc.value.code == "foreign_serial"
    with pytest.raises(ledger.LedgerRefused) as exc:
        ledger.move(kind="retire", lot_id=lot.id, from_account_id=acc_a.id, quantity=1,
                    scope=ALL)
    assert exc.value.field == "reason"


def test_outside_scope_refused(make_ent, make_project, db):
    a, b, p, acc_a, acc_b, lot = _setup(make_ent, make_project, db)
    for scope in (DataScope(enterprise=(b.uscc,)), DataScope(region=("330522",))):
        with pytest.raises(ledger.LedgerRefused) as exc:
            ledger.move(kind="transfer", lot_id=lot.id, from_account_id=acc_a.id,
                        to_account_id=acc_b.id, quantity=1, scope=scope)
        assert exc.value.code == "out_of_scope"
    ledger.move(kind="transfer", lot_id=lot.id, from_account_id=acc_a.id,
                to_account_id=acc_b.id, quantity=1, scope=DataScope(enterprise=(a.uscc,)))


def test_every_movement_audited(make_ent, make_project, db):
    from app.audit.models import AuditRecord

    a, b, p, acc_a, acc_b, lot = _setup(make_ent, make_project, db)
    ledger.move(kind="transfer", lot_id=lot.id, from_account_id=acc_a.id,
                to_account_id=acc_b.id, quantity=3, scope=ALL)
    db.session.commit()
    actions = db.session.scalars(select(AuditRecord.action).where(
        AuditRecord.action.like("trading.%")).order_by(AuditRecord.seq)).all()
    assert actions == ["trading.project.create", "trading.issue", "trading.transfer"]
    rec = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "trading.transfer"))
    assert "PV1-2025-000000001" in str(rec.summary)
