"""Carbon asset ledger: transfers/s with 8 concurrent clients on PostgreSQL beside a
single-client baseline in the same run, each transfer SM2-signed, half of them on one shared
(hot) lot whose row lock serialises them. After the runs the invariants are checked: no
block is empty or inverted, the blocks of every lot partition its serial range (every serial
in exactly one place), and every account's movements add up to its blocks (double entry).
CECP_BENCH_SCALE shrinks the run."""

from __future__ import annotations

import os
import random
import threading
import time

SCALE = float(os.environ.get("CECP_BENCH_SCALE", "1"))
CLIENTS = 8
TRANSFERS = max(16, int(2000 * SCALE))  # per mode


def _setup() -> list[int]:
    from app.extensions import db
    from app.identity.datascope import DataScope
    from app.orgs.models import Enterprise
    from app.orgs.reference import load_reference
    from app.refdata.uscc import make_uscc
    from app.trading import ledger, service
    from app.trading.models import Account, Project

    load_reference()
    everything = DataScope(all=True)
    accounts, ents = [], []
    for i in range(CLIENTS):
        ent = Enterprise(uscc=make_uscc(f"91330522MA3{900000 + i:06d}"), name=f"基准企业{i}",
                         region_code="330522", scale="规上")
        db.session.add(ent)
        ents.append(ent)
    db.session.flush()
    for i, ent in enumerate(ents):
        p = service.create(data={"code": f"BP{i}", "name": f"基准项目{i}", "type": "photovoltaic",
                                 "enterprise": ent.uscc, "methodology": "grid_renewable",
                                 "capacity_mw": "10", "crediting_start": "2025-01-01",
                                 "crediting_end": "2031-12-31"}, scope=everything)
        acc = ledger.holding_account(enterprise=ent)
        ledger.issue(project=p, vintage=2025, quantity=1_000_000, to_account=acc)
        accounts.append(acc.id)
    # the hot lot: project 0's second lot, spread over every account
    p0 = db.session.scalars(db.select(Project).where(Project.code == "BP0")).one()
    hot = ledger.issue(project=p0, vintage=2026, quantity=CLIENTS * 100_000,
                       to_account=db.session.get(Account, accounts[0]))
    for acc_id in accounts[1:]:
        ledger.move(kind="transfer", lot_id=hot.id, from_account_id=accounts[0],
                    to_account_id=acc_id, quantity=100_000, scope=everything)
    db.session.commit()
    return accounts


def _work(app, accounts: list[int], me: int, n: int, seed: int) -> None:
    from app.extensions import db
    from app.identity.datascope import DataScope
    from app.trading import ledger
    from app.trading.models import Lot

    everything, rnd = DataScope(all=True), random.Random(seed)
    with app.app_context():
        own_lot = db.session.scalar(db.select(Lot.id).where(Lot.vintage == 2025).order_by(
            Lot.id).offset(me).limit(1))
        hot_lot = db.session.scalar(db.select(Lot.id).where(Lot.vintage == 2026))
        for k in range(n):
            to = rnd.choice([a for a in accounts if a != accounts[me]])
            ledger.move(kind="transfer", lot_id=hot_lot if k % 2 else own_lot,
                        from_account_id=accounts[me], to_account_id=to,
                        quantity=rnd.randint(1, 5), scope=everything)
            db.session.commit()
        db.session.remove()


def _rate(app, accounts: list[int], clients: int) -> float:
    per = max(1, TRANSFERS // clients)
    threads = [threading.Thread(target=_work, args=(app, accounts, i, per, 17 * clients + i))
               for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * clients / (time.perf_counter() - t0)


INVARIANTS = {
    "empty or inverted block": "SELECT count(*) FROM trading_block WHERE serial_end < serial_start",
    "lot not partitioned by its blocks": """
        SELECT count(*) FROM trading_lot l WHERE
          (SELECT coalesce(sum(serial_end - serial_start + 1), 0) FROM trading_block b
            WHERE b.lot_id = l.id) <> l.serial_end - l.serial_start + 1
          OR (SELECT min(serial_start) FROM trading_block b WHERE b.lot_id = l.id)
             <> l.serial_start
          OR (SELECT max(serial_end) FROM trading_block b WHERE b.lot_id = l.id) <> l.serial_end""",
    "overlapping or gapped blocks": """
        SELECT count(*) FROM (SELECT serial_start, lag(serial_end) OVER
          (PARTITION BY lot_id ORDER BY serial_start) AS prev FROM trading_block) x
        WHERE prev IS NOT NULL AND serial_start <> prev + 1""",
    "account whose movements do not add up to its blocks": """
        SELECT count(*) FROM trading_account a WHERE a.kind <> 'issuance' AND
          (SELECT coalesce(sum(quantity), 0) FROM trading_movement WHERE credit_account_id = a.id)
          - (SELECT coalesce(sum(quantity), 0) FROM trading_movement WHERE debit_account_id = a.id)
          <> (SELECT coalesce(sum(serial_end - serial_start + 1), 0) FROM trading_block
              WHERE account_id = a.id)""",
}


def check_invariants() -> dict[str, int]:
    """Violations per invariant (all zero when the ledger is sound)."""
    from sqlalchemy import text

    from app.extensions import db

    return {k: int(db.session.scalar(text(q))) for k, q in INVARIANTS.items()}


def run() -> list[dict]:
    from app import create_app
    from app.extensions import db
    from benchmarks.pgdb import scratch, url_for

    os.environ.setdefault("CECP_INSTANCE_PATH", "/tmp/cecp-bench")
    with scratch(url_for("cecp_bench_trading")) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CECP_REDIS_URL": None,
                          "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": CLIENTS + 2}})
        try:
            with app.app_context():
                db.create_all()
                accounts = _setup()
                _rate(app, accounts, 1)  # warm up (statement cache, signing key)
                load = os.getloadavg()[0]
                single = _rate(app, accounts, 1)
                multi = _rate(app, accounts, CLIENTS)
                broken = check_invariants()
                db.session.remove()
        finally:
            with app.app_context():
                db.engine.dispose()
    if any(broken.values()):
        raise AssertionError(f"ledger invariants violated: {broken}")
    return [{"measure": f"ledger transfers, {CLIENTS} concurrent clients (PostgreSQL, SM2-signed)",
             "value": multi, "unit": "transfers/s",
             "baseline": "one client, same database and mix", "baseline_value": single,
             "note": f"{TRANSFERS} transfers per mode, half on one hot lot; invariants after "
                     f"the run: all 0 ({len(broken)} checks); load {load:.1f} before"}]
