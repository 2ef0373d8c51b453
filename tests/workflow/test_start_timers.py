"""Timer start events create instances on their schedule (Camunda semantics), through the
periodic job: a cron start event once per occurrence, an ISO cycle R2 twice and no more;
each new instance ran its start timer once and waits at its first task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.extensions import db
from app.uow import commit
from app.workflow import persistence, service, start_timers
from app.workflow.models import ProcessInstance
from app.workflow.start_timers import StartTimer
from tests.workflow_engine.test_timer_cycles import START


def _deploy(client, auth, world, cycle):
    r = client.post(
        "/api/v1/process-models",
        headers=auth(world.designer),
        data={"files": [(BytesIO(START.format(cycle=cycle).encode()), "daily.bpmn")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()


def _due_now():
    row = db.session.scalars(select(StartTimer)).one()
    row.next_fire_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    commit()
    return row


def _instances():
    return db.session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.process_key == "daily")
        .order_by(ProcessInstance.id)
    ).all()


@pytest.mark.parametrize("cycle", ["0 0 9 * * ?", "R2/PT1H"])
def test_timer_start_event_creates_instances(client, auth, world, cycle):
    _deploy(client, auth, world, cycle)
    assert start_timers.run() == 0  # scheduled, not due
    row = db.session.scalars(select(StartTimer)).one()
    assert row.next_fire_at > datetime.now(UTC).replace(tzinfo=None)
    for n in (1, 2):
        _due_now()
        assert start_timers.run() == 1
        db.session.expire_all()
        assert len(_instances()) == n
    for inst in _instances():
        assert inst.status == "running" and inst.initiator_id is None
        assert [t.name for t in service.current_tasks(inst=inst)] == ["Task_fill"]
        opened = persistence.open_instance(inst)
        assert opened.before.timers == {}  # the start timer ran once and is closed
    row = db.session.scalars(select(StartTimer)).one()
    assert row.started == 2
    if cycle.startswith("R2"):
        assert row.remaining == 0 and row.next_fire_at is None
        assert start_timers.run() == 0
    else:
        assert row.next_fire_at > datetime.now(UTC).replace(tzinfo=None)
    audited = db.session.scalars(
        select(AuditRecord).where(AuditRecord.action == "workflow.timer.start")
    ).all()
    assert len(audited) == 2
