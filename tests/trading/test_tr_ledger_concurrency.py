"""Real concurrency on PostgreSQL and property tests of the ledger invariants."""

from __future__ import annotations

import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from app.trading import ledger
from app.trading.models import Account, Block, Lot, Movement
from tests.trading.conftest import ALL
from tests.trading.test_tr_ledger import check_invariants


def test_two_concurrent_transfers_of_one_lot_exactly_one_wins(app, make_ent, make_project, db):
    a, b, c = make_ent(1), make_ent(2), make_ent(3)
    p = make_project(a)
    acc = [ledger.holding_account(enterprise=e) for e in (a, b, c)]
    ids = [x.id for x in acc]
    for round_ in range(4):
        lot = ledger.issue(project=p, vintage=2025, quantity=100, to_account=acc[0])
        db.session.commit()
        lot_id = lot.id
        barrier = threading.Barrier(2)
        results: list[str] = []

        def worker(target: int, lot_id=lot_id, barrier=barrier, results=results) -> None:
            from app.extensions import db as tdb

            with app.app_context():
                barrier.wait()
                try:
                    ledger.move(kind="transfer", lot_id=lot_id, from_account_id=ids[0],
                                to_account_id=target, quantity=100, scope=ALL)
                    tdb.session.commit()
                    results.append("won")
                except ledger.LedgerRefused as exc:
                    tdb.session.rollback()
                    results.append(exc.code)
                finally:
                    tdb.session.remove()

        threads = [threading.Thread(target=worker, args=(t,)) for t in ids[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(results) == ["insufficient_balance", "won"], (round_, results)
        db.session.expire_all()
        held = [ledger.balance(account_id=i, lot_id=lot_id) for i in ids]
        assert held[0] == 0 and sorted(held[1:]) == [0, 100]
    check_invariants(db.session)


OPS = st.lists(st.tuples(
    st.sampled_from(["issue", "transfer", "retire", "cancel"]),
    st.integers(0, 2),  # from account (or issue target)
    st.integers(0, 2),  # to account
    st.integers(0, 3),  # lot index
    st.integers(-1, 60),  # quantity (may be invalid)
    st.one_of(st.none(), st.integers(1, 200)),  # exact serial start
), min_size=1, max_size=25)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(ops=OPS)
def test_ledger_invariants_hold_over_random_movements(make_ent, make_project, db, ops):
    s = db.session
    for model in (Movement, Block, Lot):
        s.execute(delete(model))
    s.execute(delete(Account))
    s.commit()
    from app.orgs.models import Enterprise
    from app.trading.models import Project

    ents = s.query(Enterprise).order_by(Enterprise.id).all()
    if len(ents) < 3:
        ents = [make_ent(i) for i in range(1, 4)]
    project = s.query(Project).first() or make_project(ents[0])
    accs = [ledger.holding_account(enterprise=e) for e in ents]
    s.commit()
    model: dict[tuple[int, int], int] = {}  # (lot index, account index) -> active balance
    lots: list[int] = []
    for kind, src, dst, li, qty, serial in ops:
        if kind == "issue":
            if qty <= 0:
                continue
            lot = ledger.issue(project=project, vintage=2025, quantity=qty,
                               to_account=accs[src])
            lots.append(lot.id)
            model[(len(lots) - 1, src)] = qty
            s.commit()
            continue
        if not lots:
            continue
        li %= len(lots)
        have = model.get((li, src), 0)
        try:
            ledger.move(kind=kind, lot_id=lots[li], from_account_id=accs[src].id,
                        to_account_id=accs[dst].id, quantity=qty, scope=ALL,
                        serial_start=None if serial is None else
                        s.get(Lot, lots[li]).serial_start + serial - 1,
                        reason="抵销")
            s.commit()
        except ledger.LedgerRefused as exc:
            s.rollback()
            # quantity-based movements are refused exactly when the model says so
            if serial is None and not (kind == "transfer" and src == dst):
                assert qty <= 0 or qty > have, exc.message
            check_invariants(s)
            continue
        assert 0 < qty <= have
        assert not (kind == "transfer" and src == dst)
        model[(li, src)] = have - qty
        if kind == "transfer":
            model[(li, dst)] = model.get((li, dst), 0) + qty
        check_invariants(s)
    for (li, ai), bal in model.items():
        assert ledger.balance(account_id=accs[ai].id, lot_id=lots[li]) == bal
