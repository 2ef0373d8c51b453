"""Transactional outbox on the real Redis: rollback never runs, Redis outage loses nothing."""

import pytest
from sqlalchemy import select

from app.audit import service as audit
from app.audit.models import AuditRecord
from app.jobs import outbox, queues
from app.jobs.models import OutboxJob
from app.jobs.registry import JOBS, job
from app.jobs.worker import Worker
from app.uow import commit

if "test.mark" not in JOBS:
    @job("test.mark")
    def _mark(tag: str) -> None:
        audit.record("test.job_ran", object_id=tag)


@pytest.fixture()
def redis_app(app, db, redis_url):
    app.config["CECP_REDIS_URL"] = redis_url
    yield app
    for q in queues.all_queues():
        q.empty()
    app.config["CECP_REDIS_URL"] = None


def _ran(db, tag):
    return db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "test.job_ran", AuditRecord.object_id == tag)).all()


def _work():
    conn = queues.connection()
    Worker(queues.all_queues(conn), connection=conn).work(burst=True)


def test_job_from_rolled_back_transaction_never_runs(redis_app, db):
    outbox.enqueue("test.mark", tag="rolled-back")
    db.session.rollback()
    assert outbox.dispatch_pending() == 0
    _work()
    assert _ran(db, "rolled-back") == []
    assert db.session.scalars(select(OutboxJob)).all() == []


def test_job_committed_while_redis_down_runs_when_it_is_back(redis_app, db, redis_url):
    redis_app.config["CECP_REDIS_URL"] = "redis://127.0.0.1:6399/0"  # nothing listens there
    outbox.enqueue("test.mark", tag="outage")
    commit()  # dispatch fails quietly; the row stays
    row = db.session.scalars(select(OutboxJob)).one()
    assert row.status == "pending"
    redis_app.config["CECP_REDIS_URL"] = redis_url
    assert outbox.dispatch_pending() == 1
    _work()
    db.session.expire_all()
    assert db.session.get(OutboxJob, row.id).status == "done"
    assert len(_ran(db, "outage")) == 1
    # a second dispatch or a replayed rq job does not run it twice
    from app.jobs.runner import run_job

    assert outbox.dispatch_pending() == 0 and run_job(row.id) == "done"
    assert len(_ran(db, "outage")) == 1


def test_cecp_worker_runs_queued_jobs(redis_app, db):
    from app.cli import cli

    outbox.enqueue("test.mark", tag="worker")
    commit()
    assert db.session.scalars(select(OutboxJob)).one().status == "dispatched"
    result = redis_app.test_cli_runner().invoke(cli, ["worker", "--burst"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.scalars(select(OutboxJob)).one().status == "done"
    assert len(_ran(db, "worker")) == 1


def test_without_redis_jobs_run_in_process_after_commit(app, db):
    assert not app.config["CECP_REDIS_URL"]
    outbox.enqueue("test.mark", tag="embedded")
    assert _ran(db, "embedded") == []
    commit()
    assert len(_ran(db, "embedded")) == 1


def test_failing_job_is_retried_then_dead_lettered_in_process(app, db):
    if "test.boom" not in JOBS:
        @job("test.boom")
        def _boom() -> None:
            raise RuntimeError("boom")
    app.config.update(CECP_JOB_MAX_ATTEMPTS=3, CECP_JOB_BACKOFF_SECONDS=0)
    try:
        outbox.enqueue("test.boom")
        commit()  # embedded: runs now, and its retries (due at once) in the same loop
    finally:
        app.config.pop("CECP_JOB_MAX_ATTEMPTS")
        app.config.pop("CECP_JOB_BACKOFF_SECONDS")
    row = db.session.scalars(select(OutboxJob)).one()
    assert row.status == "dead" and row.attempts == 3 and "boom" in row.last_error


def test_periodic_jobs_run_once_per_interval(app, db):
    from datetime import datetime, timedelta

    from app.jobs import periodic

    ran = []
    periodic.register("test.tick", every=60, run=lambda: ran.append(1))
    try:
        t0 = datetime(2026, 1, 1, 12, 0, 0)
        assert "test.tick" in periodic.tick(now=t0)
        assert "test.tick" not in periodic.tick(now=t0 + timedelta(seconds=30))
        assert "test.tick" in periodic.tick(now=t0 + timedelta(seconds=61))
        assert len(ran) == 2
    finally:
        periodic.PERIODIC.pop("test.tick")


def test_every_periodic_job_is_in_the_one_registry(app):
    from app.jobs import periodic

    assert {"jobs.sweep", "workflow.sweep_timers", "monitoring.sweep"} <= set(periodic.PERIODIC)
