"""Schema: Alembic migrations build every table and agree with the models; demo is idempotent."""

import os

import pytest
from sqlalchemy import func, select

from tests.conftest import CI, _drop_pg_database, _make_pg_database, _pg_available


@pytest.fixture()
def empty_pg_url():
    if not _pg_available():
        if CI:
            pytest.fail("CI=true: PostgreSQL is required")
        pytest.skip("PostgreSQL not reachable")
    name = f"cecp_mig_{os.getpid()}"
    url = _make_pg_database(name)
    yield url
    _drop_pg_database(name)


def test_upgrade_builds_all_and_autogenerate_finds_no_diff(empty_pg_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_pg_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        tables = set(db.inspect(db.engine).get_table_names())
        db.session.remove()
        db.engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"
    assert set(db.metadata.tables) <= tables


def test_demo_is_idempotent_and_prints_accounts(app, db):
    from app.cli import cli
    from app.identity.models import User
    from app.orgs.models import Enterprise

    runner = app.test_cli_runner()
    first = runner.invoke(cli, ["demo", "--enterprises", "3", "--months", "2"])
    assert first.exit_code == 0, first.output
    for email in ("admin@demo.cecp", "reviewer@demo.cecp", "approver@demo.cecp",
                  "enterprise@demo.cecp", "verifier@demo.cecp", "designer@demo.cecp"):
        assert email in first.output
    counts = (db.session.scalar(select(func.count()).select_from(User)),
              db.session.scalar(select(func.count()).select_from(Enterprise)))
    second = runner.invoke(cli, ["demo", "--enterprises", "3", "--months", "2"])
    assert second.exit_code == 0, second.output
    assert counts == (db.session.scalar(select(func.count()).select_from(User)),
                      db.session.scalar(select(func.count()).select_from(Enterprise)))
    reviewer = db.session.scalar(select(User).where(User.email == "reviewer@demo.cecp"))
    assert [(s.kind, s.code) for s in reviewer.scopes] == [("region", "330500")]
