"""`cecp demo` takes a PV and an energy-efficiency project through a monitoring report,
verification and certification to a transfer to the demo exchange and a retirement (once)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select


def test_demo_certifies_transfers_and_retires(app, db):
    from app.cli import cli
    from app.documents import service as documents
    from app.trading import ledger
    from app.trading.demo import demo_exchange_code
    from app.trading.models import Account, Lot, MonitoringReport, Movement

    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["demo", "--enterprises", "2", "--months", "12"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    reports = db.session.scalars(select(MonitoringReport)).all()
    assert len(reports) == 2 and {r.status for r in reports} == {"certified"}
    for r in reports:
        assert r.certified_tonnes == int(r.reduction)  # whole tonnes, rounded down
        assert documents.verify(document_id=r.document_id)["valid"] is True
    # the PV report is quantified from the year of readings seeded through the exchange
    pv = next(r for r in reports if r.project.methodology == "grid_renewable")
    months = pv.figures["months"]
    assert len(months) == 12
    eg = next(ln for ln in pv.result["lines"] if ln.get("name") == "eg_net_mwh")
    assert Decimal(str(eg["value"])) == sum(Decimal(str(m["ongrid"])) for m in months) > 0
    assert "示范值" in next(ln for ln in pv.result["lines"] if ln.get("name") == "ef_om")["origin"]
    exchange = db.session.scalar(select(Account).where(Account.code == f"X-{demo_exchange_code()}"))
    assert ledger.balance(account_id=exchange.id) == sum(r.certified_tonnes // 2
                                                         for r in reports)
    assert db.session.scalar(select(func.count()).select_from(Movement).where(
        Movement.kind == "retire")) == 2
    assert all(ledger.verify_movement(m) for m in db.session.scalars(select(Movement)))
    # the onboarded exchange's people see the account in their scope
    from app.identity import service as accounts
    from app.identity.scope import scope_for

    assert exchange.institution_code in scope_for(
        accounts.get_by_email(email="exchange@demo.cecp")).institution
    again = runner.invoke(cli, ["demo", "--enterprises", "2", "--months", "12"])
    assert again.exit_code == 0, again.output
    assert db.session.scalar(select(func.count()).select_from(Lot)) == 2
