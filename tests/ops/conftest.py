"""Live services for the operations tests: a prepared PostgreSQL database, gunicorn nodes
started with the shipped configuration, HAProxy and etcd (benchmarks/cluster.py). They
listen on 127.0.0.1 only (ports from CECP_PORT_RANGE). Under CI=true a missing server
binary fails the test instead of skipping it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import CI, PG_ADMIN_URL, _drop_pg_database, _pg_available


def need_binary(name: str) -> None:
    if shutil.which(name):
        return
    if CI:
        pytest.fail(f"CI=true: {name} is required (Debian package) but not installed")
    pytest.skip(f"{name} not installed (allowed outside CI only)")


@pytest.fixture(scope="session")
def live_db():
    """A PostgreSQL database with reference and demo data and 20 load accounts."""
    if not _pg_available():
        if CI:
            pytest.fail("CI=true: PostgreSQL is required")
        pytest.skip("PostgreSQL not reachable")
    from benchmarks import loadrun

    name = f"cecp_test_ops_{os.getpid()}"
    _drop_pg_database(name)
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = (
        PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        + "/"
        + name
    )
    loadrun.prepare_database(url, users=20, enterprises=2, months=2)
    yield url
    _drop_pg_database(name)


@pytest.fixture()
def workdir(tmp_path) -> Path:
    return tmp_path


@pytest.fixture()
def started():
    """started(proc) registers a process to stop after the test, whatever happens."""
    from benchmarks import cluster

    procs = []
    yield procs.append
    for p in reversed(procs):
        cluster.stop(p)
