"""A small bounded version of the queue benchmark: three reports (two enterprises) requested
in one commit, handed to rq (real Redis) and built by two real `cecp worker --burst`
processes (`python -m benchmarks --only reports` runs 10,000 × scale)."""

from __future__ import annotations

from app.documents import service as documents
from app.extensions import db
from app.uow import commit
from reports import service
from tests.jobs.conftest import redis_app, worker_process  # noqa: F401 - fixtures


def test_reports_through_the_queue_with_two_workers(app, report_world, worker_process):  # noqa: F811
    a, b = report_world
    ids = [
        service.request_report(enterprise=e, year=y, trigger="manual").id
        for e, y in ((a, 2025), (a, 2024), (b, 2025))
    ]
    commit()  # dispatched to rq, nothing built in this process
    db.session.expire_all()
    assert {documents.get(document_id=i, scope=documents.ALL).status for i in ids} == {"pending"}
    env = {"CECP_MASTER_KEY": app.config["CECP_MASTER_KEY"]}
    procs = [worker_process("--burst", **env) for _ in range(2)]
    for p in procs:
        assert p.wait(240) == 0
    db.session.expire_all()
    for i in ids:
        result = documents.verify(document_id=i)
        assert result["status"] == "valid", result
