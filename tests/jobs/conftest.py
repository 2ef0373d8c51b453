"""Fixtures for the job tests: the real Redis (your own DB), real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq.registry import ScheduledJobRegistry

from app.jobs import queues
from app.jobs.worker import Worker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def redis_app(app, db, redis_url):
    app.config["CECP_REDIS_URL"] = redis_url
    yield app
    for q in queues.all_queues():
        q.empty()
        registry = ScheduledJobRegistry(queue=q)
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
    app.config["CECP_REDIS_URL"] = None


@pytest.fixture()
def settings(app):
    """`settings(CECP_JOB_LEASE_SECONDS=1, ...)`: job settings for this test only."""
    keys: list[str] = []

    def _set(**values):
        keys.extend(values)
        app.config.update(values)

    yield _set
    for key in keys:
        app.config.pop(key, None)


def work(*, scheduler: bool = False) -> None:
    conn = queues.connection()
    Worker(queues.all_queues(conn), connection=conn).work(
        burst=True, with_scheduler=scheduler)


def wait_for(predicate, *, timeout: float, every: float = 0.1, what: str = "condition"):
    """Poll (each time in a fresh transaction of the test's session) until true."""
    from app.extensions import db

    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


@pytest.fixture()
def worker_process(app, database_url, redis_app):
    """Start `cecp worker` processes on the test's database and Redis DB; all are stopped
    (SIGKILL if need be) at the end of the test."""
    started: list[subprocess.Popen] = []

    def _start(*args: str, **env: str) -> subprocess.Popen:
        cfg = app.config
        full = {**os.environ,
                "CECP_DATABASE_URL": database_url, "CECP_REDIS_URL": cfg["CECP_REDIS_URL"],
                "CECP_QUEUE_PREFIX": cfg["CECP_QUEUE_PREFIX"],
                "CECP_SECRET_KEY": cfg["SECRET_KEY"],
                "CECP_TOTP_SECRET": cfg["SECURITY_TOTP_SECRETS"]["1"],
                "CECP_PASSWORD_SALT": cfg["SECURITY_PASSWORD_SALT"], **env}
        cecp = str(Path(sys.executable).with_name("cecp"))
        proc = subprocess.Popen([cecp, "worker", *args], cwd=ROOT, env=full,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        return proc

    yield _start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
