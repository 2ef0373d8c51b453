"""A deployed model's cron / ISO cycle boundary timer is fired by the periodic timer sweep
(the same path as every timer), recorded on the timeline and re-armed in workflow_timer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from sqlalchemy import select

from app.extensions import db
from app.uow import commit
from app.workflow import events, jobs, service
from app.workflow.models import ProcessInstance, TimerSchedule
from tests.workflow_engine.test_timer_cycles import MODEL


@pytest.mark.parametrize("cycle", ["0 0 9 * * ?", "R2/PT1H"])
def test_sweep_fires_cycle_timers(app, client, auth, world, cycle):
    xml = MODEL.format(cycle=cycle)
    r = client.post(
        "/api/v1/process-models",
        headers=auth(world.designer),
        data={"files": [(BytesIO(xml.encode()), "remind.bpmn")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    inst = service.start(model="remind", data={}, user=world.company)
    commit()
    [row] = db.session.scalars(
        select(TimerSchedule).where(TimerSchedule.instance_id == inst.id)
    ).all()
    first = row.fire_at
    for n in (1, 2):
        events.move_timers(
            instance_id=inst.id, user=world.admin, fire_at=datetime.now(UTC) - timedelta(seconds=1)
        )
        commit()
        assert jobs.sweep() == 1
        db.session.expire_all()
        inst = db.session.get(ProcessInstance, inst.id)
        timeline = [h.action for h in service.history(inst=inst)]
        assert timeline.count("timer") == n
    rows = db.session.scalars(
        select(TimerSchedule).where(TimerSchedule.instance_id == inst.id)
    ).all()
    if cycle.startswith("R2"):
        assert rows == []  # two cycles done
    else:
        assert len(rows) == 1 and rows[0].fire_at >= first  # re-armed for the next 9:00
    assert inst.status == "running" and len(service.current_tasks(inst=inst)) == 1
