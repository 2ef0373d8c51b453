"""Shared fixtures. Each run makes its own PostgreSQL database (cecp_test_<pid>) and drops
it; under CI=true PostgreSQL and Redis are mandatory and a missing one fails the run."""

from __future__ import annotations

import os
import tempfile
import time
import uuid

import pytest

CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("CECP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CECP_TEST_REDIS", "redis://127.0.0.1:6379/0")
_TMP = tempfile.mkdtemp(prefix="cecp-test-")
os.environ.setdefault("CECP_INSTANCE_PATH", _TMP)
# On PostgreSQL the platform never generates secrets (app.config): the tests set them all.
os.environ.setdefault("CECP_MASTER_KEY", "00112233445566778899aabbccddeeff")
os.environ.setdefault("CECP_SECRET_KEY", "test-secret-key-" + "5" * 48)
os.environ.setdefault("CECP_PASSWORD_SALT", "test-password-salt-0123456789abcdef")
os.environ.setdefault("CECP_TOTP_SECRET", "test-totp-secret-" + "7" * 47)


def _pg_available() -> bool:
    import psycopg

    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
        return True
    except Exception:
        return False


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


def _make_pg_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


def _drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url():
    if _pg_available():
        name = f"cecp_test_{os.getpid()}"
        url = _make_pg_database(name)
        yield url
        _drop_pg_database(name)
    elif CI:
        pytest.fail("CI=true: PostgreSQL at 127.0.0.1:5432 is required but not reachable")
    else:
        yield f"sqlite:///{_TMP}/cecp-test.db"


@pytest.fixture(scope="session")
def redis_url():
    if _redis_available():
        return REDIS_URL
    if CI:
        pytest.fail("CI=true: Redis at 127.0.0.1:6379 is required but not reachable")
    pytest.skip("Redis not reachable (allowed outside CI only)")


@pytest.fixture(scope="session")
def app(database_url):
    from app import create_app
    from app.extensions import db

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CECP_REDIS_URL": None,
        "CECP_QUEUE_PREFIX": f"cecptest{os.getpid()}",
        "SECURITY_PASSWORD_HASH": "argon2",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        # a report PDF per submitted case would slow every workflow test: tests/reports
        # turns it on where it is the behaviour under test
        "CECP_REPORTS_ON_CASES": False,
        "CECP_REPORTS_ON_ACCOUNT_CHANGE": False,
        # every test signs in from 127.0.0.1: the limits are on in tests/security only
        "CECP_RATELIMIT_ENABLED": False,
    })
    def _fresh_request_globals():
        # Tests hold an app context while using the client, and Flask then reuses that
        # context (and its `g`) for every request: clear it as a new request would.
        from flask import g

        for key in list(vars(g)):
            g.pop(key, None)

    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _truncate_all(db) -> None:
    from sqlalchemy import text

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                + " RESTART IDENTITY CASCADE"))
    else:
        for t in tables:
            db.session.execute(text(f'DELETE FROM "{t}"'))
    db.session.commit()


@pytest.fixture()
def db(app):
    """An application context on an emptied database."""
    from app.extensions import db as _db

    with app.app_context():
        _truncate_all(_db)
        app.extensions.pop("cecp_data_keys", None)
        yield _db
        _db.session.rollback()
        _db.session.remove()


@pytest.fixture()
def sql_log(app):
    """``with sql_log() as seen:`` collects the SQL sent to the database (whitespace folded);
    ``sql_log(engine)`` for another engine."""
    from contextlib import contextmanager

    from sqlalchemy import event

    from app.extensions import db as _db

    @contextmanager
    def _log(engine=None):
        target = engine if engine is not None else _db.engine
        seen: list[str] = []

        def record(conn, cursor, statement, *args):
            seen.append(" ".join(statement.split()))

        event.listen(target, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            event.remove(target, "before_cursor_execute", record)

    return _log


@pytest.fixture()
def reference(db):
    from app.identity.service import ensure_roles
    from app.orgs.reference import load_reference

    load_reference()
    ensure_roles()
    db.session.commit()
    return db


@pytest.fixture()
def client(app, db):
    return app.test_client()


@pytest.fixture()
def make_user(reference):
    """Create an account: make_user("reviewer", region="330500")."""
    from app.identity import service as accounts

    def _make(role: str, *, email: str | None = None, password: str = "Strong#Pass2026x",
              **scopes: str):
        pairs = [(k, v) for k, v in scopes.items()]
        user = accounts.create(email=email or f"{role}-{uuid.uuid4().hex[:8]}@t.cecp",
                               password=password, roles=[role], scopes=pairs,
                               check_policy=False)
        reference.session.commit()
        return user

    return _make


def enrol_totp(user) -> str:
    """Give a user a TOTP secret directly (as enrolment would) and return it."""
    from flask import current_app

    from app.extensions import db

    security = current_app.extensions["security"]
    secret = security._totp_factory.generate_totp_secret()
    user.tf_totp_secret = secret
    user.tf_primary_method = "authenticator"
    db.session.commit()
    return secret


def totp_now(user) -> str:
    from flask import current_app
    from sqlalchemy import select

    from app.extensions import db
    from app.identity.models import User

    # Each time step is accepted once per user (app.identity.totp): when this one was used
    # already, answer with the next one, as an authenticator shown a moment later would.
    security = current_app.extensions["security"]
    last = db.session.execute(select(User.tf_totp_last_counter)
                              .where(User.id == user.id)).scalar()
    totp = security._totp_factory._totp.from_source(user.tf_totp_secret)
    step = max(int(time.time()) // totp.period, (last or 0) + 1)
    return totp.generate(time=step * totp.period).token


def login(client, user, password: str = "Strong#Pass2026x"):
    """Log a test client in through the real form, answering the TOTP step if enrolled."""
    r = client.post("/auth/login", data={"email": user.email, "password": password},
                    follow_redirects=False)
    if user.tf_primary_method:
        r = client.post("/auth/tf-validate", data={"code": totp_now(user)},
                        follow_redirects=False)
    return r


def api_token(client, user, password: str = "Strong#Pass2026x") -> dict:
    """Headers with a real API token; enrols TOTP first where the role requires it."""
    if user.requires_two_factor() and not user.tf_primary_method:
        enrol_totp(user)
    body = {"email": user.email, "password": password}
    if user.tf_primary_method:
        body["code"] = totp_now(user)
    r = client.post("/api/v1/auth/token", json=body)
    assert r.status_code == 200, r.get_json()
    return {"Authentication-Token": r.get_json()["token"]}


@pytest.fixture()
def auth(client):
    """auth(user) -> headers for API calls as that user."""
    return lambda user, **kw: api_token(client, user, **kw)


@pytest.fixture(autouse=True)
def _ready_tasks_oracle(monkeypatch):
    """Every fast READY lookup (`app.workflow.engine.ready`) is checked against
    SpiffWorkflow's own tree walk, in every test that runs a workflow."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from app.workflow.engine import ready

    fast = ready.ready_tasks

    def checked(workflow, manual=None):
        got = fast(workflow, manual)
        kwargs = {"state": TaskState.READY} if manual is None else {
            "state": TaskState.READY, "manual": manual}
        want = BpmnWorkflow.get_tasks(workflow, **kwargs)
        assert [t.id for t in got] == [t.id for t in want]
        return got

    monkeypatch.setattr(ready, "ready_tasks", checked)
