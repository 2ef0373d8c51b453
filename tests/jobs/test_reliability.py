"""Jobs are at-least-once with exactly-once effects, on the real Redis and PostgreSQL:
a worker killed mid-job, a flushed Redis, a job that always fails, two sweeps at once."""

from __future__ import annotations

import json
import signal
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.audit import service as audit
from app.audit.models import AuditRecord
from app.db import utcnow
from app.extensions import db
from app.jobs import outbox, queues, sweep
from app.jobs.models import OutboxJob
from app.jobs.registry import JOBS, job
from app.uow import commit
from tests.jobs.conftest import wait_for, work

if "test.effect" not in JOBS:
    @job("test.effect")
    def _effect(tag: str, pause: float = 0.0) -> None:
        time.sleep(pause)
        audit.record("test.effect", object_id=tag)

    @job("test.always_fails")
    def _always_fails(tag: str) -> None:
        audit.record("test.effect", object_id=tag)  # rolled back with the failure
        raise RuntimeError(f"always fails ({tag})")


def effects(action: str, tag: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == action, AuditRecord.object_id == tag)) or 0


def row(job_id: int) -> OutboxJob:
    db.session.expire_all()
    return db.session.get(OutboxJob, job_id)


def test_worker_killed_mid_job_the_job_completes_exactly_once(worker_process, settings):
    settings(CECP_JOB_LEASE_SECONDS=2)
    job_id = outbox.enqueue("jobs.probe", tag="sigkill", pause=4).id
    commit()
    assert row(job_id).status == "dispatched" and row(job_id).lease_until is not None
    first = worker_process("--burst", CECP_JOB_LEASE_SECONDS="2")
    wait_for(lambda: row(job_id).status == "running", timeout=90, what="the job to start")
    first.send_signal(signal.SIGKILL)  # mid-job: the pause is 4 s
    first.wait(10)
    assert row(job_id).status == "running" and effects("jobs.probe", "sigkill") == 0
    wait_for(lambda: row(job_id).lease_until < utcnow(), timeout=10, what="lease expiry")
    # a real worker: its ticker's sweep reclaims the row and runs it again; while the new
    # run pauses past its own 2 s lease, the sweeps skip the row (it is locked), so the
    # job is not started a third time
    worker_process(CECP_JOB_LEASE_SECONDS="2", CECP_JOB_SWEEP_SECONDS="1",
                   CECP_JOB_TICK_SECONDS="0.2")
    wait_for(lambda: row(job_id).status == "done", timeout=90, what="the job to finish")
    time.sleep(1.5)  # a few more sweeps of the live worker
    assert effects("jobs.probe", "sigkill") == 1
    done = row(job_id)
    assert done.status == "done" and done.attempts == 2
    log = json.loads(done.attempt_log)
    assert [a["n"] for a in log] == [1, 2] and "租约" in log[0]["error"]


def test_redis_flushed_after_dispatch_the_job_still_runs(redis_app, settings):
    settings(CECP_JOB_LEASE_SECONDS=1)
    job_id = outbox.enqueue("test.effect", tag="flushed").id
    commit()
    assert row(job_id).status == "dispatched"
    conn = queues.connection()
    conn.flushdb()  # our own test database only (CECP_TEST_REDIS)
    assert queues.queue("default").count == 0
    work()
    assert row(job_id).status == "dispatched" and effects("test.effect", "flushed") == 0
    wait_for(lambda: row(job_id).lease_until < utcnow(), timeout=10, what="lease expiry")
    from app.cli import cli

    result = redis_app.test_cli_runner().invoke(cli, ["worker", "--burst"])  # sweeps first
    assert result.exit_code == 0, result.output
    assert row(job_id).status == "done" and row(job_id).attempts == 1
    assert effects("test.effect", "flushed") == 1


def _starts(r: OutboxJob) -> list[datetime]:
    return [datetime.fromisoformat(a["at"]) for a in json.loads(r.attempt_log)]


def test_always_failing_job_is_dead_lettered_after_n_tries_with_backoff(redis_app, settings):
    settings(CECP_JOB_MAX_ATTEMPTS=3, CECP_JOB_BACKOFF_SECONDS=1)
    job_id = outbox.enqueue("test.always_fails", tag="dead").id
    commit()
    deadline = time.monotonic() + 60
    while row(job_id).status != "dead" and time.monotonic() < deadline:
        r = row(job_id)
        if r.status == "dispatched" and r.run_at and r.run_at > utcnow():
            time.sleep((r.run_at - utcnow()).total_seconds() + 1.05)  # whole seconds in rq
        work(scheduler=True)
    dead = row(job_id)
    assert dead.status == "dead" and dead.attempts == 3
    assert "always fails (dead)" in dead.last_error
    starts = _starts(dead)
    assert len(starts) == 3
    # exponential backoff: 1 s after the first failure, 2 s after the second
    assert starts[1] - starts[0] >= timedelta(seconds=1)
    assert starts[2] - starts[1] >= timedelta(seconds=2)
    assert all("always fails" in a["error"] for a in json.loads(dead.attempt_log))
    assert effects("test.effect", "dead") == 0  # each failed run rolled back its effect
    work(scheduler=True)  # nothing is left to run it again
    assert row(job_id).attempts == 3


def _expired_rows(n: int, name: str = "test.effect", **payload) -> list[int]:
    past = utcnow() - timedelta(minutes=5)
    ids = []
    for i in range(n):
        r = outbox.enqueue(name, tag=f"twice-{i}", **payload)
        r.status, r.dispatched_at, r.lease_until = "dispatched", past, past  # lost in rq
        ids.append(r.id)
    db.session.info.pop("cecp_jobs", None)
    db.session.commit()
    return ids


def _at_once(app, fn, n: int = 2) -> None:
    barrier, errors = threading.Barrier(n), []

    def run():
        try:
            with app.app_context():
                barrier.wait(10)
                fn()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


def test_two_sweeps_at_once_never_run_a_row_twice(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    assert not app.config["CECP_REDIS_URL"]  # embedded: the sweeps run what they reclaim
    ids = _expired_rows(12, pause=0.05)

    def sweep_until_idle():  # each thread keeps sweeping while the other one runs jobs
        for _ in range(200):
            sweep.sweep()
            left = db.session.scalar(select(func.count()).select_from(OutboxJob).where(
                OutboxJob.status != "done"))
            db.session.rollback()
            if not left:
                return
            time.sleep(0.02)

    _at_once(app, sweep_until_idle)
    for i, job_id in enumerate(ids):
        assert row(job_id).status == "done" and row(job_id).attempts == 1
        assert effects("test.effect", f"twice-{i}") == 1


def test_two_sweeps_at_once_hand_each_row_to_rq_once(redis_app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    ids = _expired_rows(20)
    _at_once(redis_app, sweep.sweep)
    assert queues.queue("default").count == 20
    work()
    for i, job_id in enumerate(ids):
        assert row(job_id).status == "done" and row(job_id).attempts == 1
        assert effects("test.effect", f"twice-{i}") == 1


def test_a_replayed_or_duplicated_delivery_runs_once(redis_app):
    job_id = outbox.enqueue("test.effect", tag="dup").id
    commit()
    q = queues.queue("default")
    q.enqueue(outbox.RUNNER, job_id)  # rq hands the same row over a second time
    work()
    from app.jobs.runner import run_job

    assert run_job(job_id) == "done"
    assert effects("test.effect", "dup") == 1 and row(job_id).attempts == 1


def test_idempotency_key_makes_one_job(app, db):
    first = outbox.enqueue("test.effect", tag="keyed", key="test:keyed")
    again = outbox.enqueue("test.effect", tag="keyed", key="test:keyed")
    assert again.id == first.id
    commit()
    outbox.enqueue("test.effect", tag="keyed", key="test:keyed")  # after it ran
    commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxJob)) == 1
    assert effects("test.effect", "keyed") == 1


def test_job_functions_never_commit():
    """The runner owns the unit of work: no job module commits (or calls the edge)."""
    root = Path(__file__).resolve().parents[2] / "app"
    offenders = [str(p.relative_to(root)) for p in root.rglob("jobs.py")
                 if "commit(" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_a_running_cecp_worker_reclaims_lost_jobs_from_its_ticker(worker_process):
    """Not the start-up sweep: the worker is up first, then a row is lost (dispatched,
    lease passed, no rq job); the periodic sweep in the worker's ticker thread runs it."""
    from app.platform.models import ServiceNode

    worker_process(CECP_JOB_SWEEP_SECONDS="1", CECP_JOB_TICK_SECONDS="0.2")
    wait_for(lambda: db.session.scalars(select(ServiceNode).where(
        ServiceNode.kind == "worker")).first(), timeout=90, what="the worker's first tick")
    past = utcnow() - timedelta(minutes=5)
    r = outbox.enqueue("jobs.probe", tag="ticker")
    r.status, r.dispatched_at, r.lease_until = "dispatched", past, past
    db.session.info.pop("cecp_jobs", None)
    db.session.commit()
    job_id = r.id
    wait_for(lambda: row(job_id).status == "done", timeout=60, what="the ticker's sweep")
    assert effects("jobs.probe", "ticker") == 1 and row(job_id).attempts == 1
