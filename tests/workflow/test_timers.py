"""Timers: scheduled with rq enqueue_at on the real Redis (worker with scheduler, burst), and
the in-process sweep of embedded mode."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app.cases.models import Notification
from app.extensions import db
from app.jobs import queues
from app.jobs.models import OutboxJob
from app.jobs.worker import Worker
from app.uow import commit
from app.workflow import events, service
from app.workflow.models import TimerSchedule


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


def test_reminder_fires_through_rq_enqueue_at(redis_app, world):
    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    jobs = db.session.scalars(select(OutboxJob).where(
        OutboxJob.name == "workflow.fire_timer")).all()
    assert len(jobs) == 2 and all(j.status == "dispatched" and j.run_at for j in jobs)
    assert len(db.session.scalars(select(TimerSchedule)).all()) == 2
    soon = datetime.now(UTC) + timedelta(seconds=2)
    events.move_timers(instance_id=inst.id, fire_at=soon, user=world.admin,
                        names={"initial_review_reminder"})
    commit()
    conn = queues.connection()
    scheduled = ScheduledJobRegistry(queue=queues.queue("default", conn))
    assert len(scheduled.get_job_ids()) == 3
    # rq keeps whole seconds: the job is scheduled for the next whole second, never early
    first = min(score for _, score in conn.zrange(scheduled.key, 0, -1, withscores=True))
    assert first >= soon.timestamp()
    Worker(queues.all_queues(conn), connection=conn).work(burst=True, with_scheduler=True)
    if datetime.now(UTC) < soon.replace(microsecond=0):  # (a very slow host may be past it)
        reminders = select(Notification).where(Notification.kind == "reminder")
        assert db.session.scalars(reminders).all() == []  # not due: nothing ran
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 1.2)
    Worker(queues.all_queues(conn), connection=conn).work(burst=True, with_scheduler=True)
    db.session.expire_all()
    notes = db.session.scalars(select(Notification).where(Notification.kind == "reminder")).all()
    assert [n.user_id for n in notes] == [world.reviewer.id]
    assert "初审提醒" in [h.label for h in service.history(inst=inst) if h.action == "timer"]
    assert world.only_task(inst).name == "initial_review"


def test_embedded_mode_fires_timers_from_a_thread_of_the_web_process(app, client, world):
    assert not app.config["CECP_REDIS_URL"]
    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    assert db.session.scalars(select(OutboxJob).where(
        OutboxJob.name == "workflow.fire_timer")).all() == []  # no rq: the sweep does it
    events.move_timers(instance_id=inst.id, user=world.admin,
                        fire_at=datetime.now(UTC) - timedelta(seconds=1),
                        names={"initial_review_deadline"})
    commit()
    from app.jobs import ticker

    settings = {"CECP_EMBEDDED_TICKER": True, "CECP_JOB_TICK_SECONDS": 0.1,
                "CECP_WORKFLOW_SWEEP_SECONDS": 0.2}
    app.config.update(settings)
    try:
        assert client.get("/").status_code == 200  # the first request starts the ticker
        assert app.extensions["cecp_ticker"].thread.is_alive()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # no further request: the thread fires it
            db.session.rollback()
            if world.only_task(inst).name == "final_review":
                break
            time.sleep(0.1)
    finally:
        ticker.stop_embedded(app)
        for key in settings:
            app.config.pop(key)
    db.session.rollback()
    assert world.only_task(inst).name == "final_review"


def test_cli_sweep(app, world):
    from app.workflow.cli import processes_group

    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    events.move_timers(instance_id=inst.id, user=world.admin,
                        fire_at=datetime.now(UTC) - timedelta(seconds=1),
                        names={"initial_review_reminder"})
    commit()
    result = app.test_cli_runner().invoke(processes_group, ["sweep"])
    assert result.exit_code == 0 and "1" in result.output, result.output
    assert db.session.scalars(select(Notification).where(Notification.kind == "reminder")).all()


def test_fire_timer_job_lost_in_redis_still_fires_within_one_sweep_interval(redis_app, world):
    """The `workflow.fire_timer` rq job is flushed away; the periodic timer sweep (the same
    ticker `cecp worker` runs) fires the timer anyway, without the job and without the
    outbox reclaim (its lease is left long on purpose)."""
    from app.jobs.ticker import Ticker

    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    due = datetime.now(UTC) + timedelta(seconds=1)
    events.move_timers(instance_id=inst.id, fire_at=due, user=world.admin,
                       names={"initial_review_reminder"})
    commit()
    conn = queues.connection()
    conn.flushdb()  # our own test database only (CECP_TEST_REDIS): every rq job is lost
    settings = {"CECP_WORKFLOW_SWEEP_SECONDS": 1, "CECP_JOB_TICK_SECONDS": 0.2,
                "CECP_JOB_LEASE_SECONDS": 3600}
    redis_app.config.update(settings)
    ticker = Ticker(redis_app).start()
    try:
        deadline = time.monotonic() + 30  # generous bound for a loaded host; interval 1 s
        while time.monotonic() < deadline:
            db.session.rollback()
            if db.session.scalars(select(Notification).where(
                    Notification.kind == "reminder")).all():
                break
            time.sleep(0.1)
    finally:
        ticker.stop()
        for key in settings:
            redis_app.config.pop(key)
    db.session.rollback()
    assert [n.user_id for n in db.session.scalars(select(Notification).where(
        Notification.kind == "reminder")).all()] \
        == [world.reviewer.id]
    # no rq job did it (other periodic jobs, e.g. the daily forecasts, may have queued theirs)
    from app.jobs.models import OutboxJob

    queued = [int(i.split("-")[1]) for i in queues.queue("default").job_ids
              if i.startswith("outbox-") and i.split("-")[1].isdigit()]
    assert not db.session.scalars(select(OutboxJob.id).where(
        OutboxJob.id.in_(queued), OutboxJob.name == "workflow.fire_timer")).all()
    assert "初审提醒" in [h.label for h in service.history(inst=inst) if h.action == "timer"]
