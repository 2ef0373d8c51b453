"""Two people complete the same task at the same moment: exactly one wins, the other gets
409 and the instance is intact (two threads, two sessions, PostgreSQL row locks)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.workflow import persistence, service
from app.workflow.models import ProcessInstance, TaskHistory

from .conftest import CITY_A


def _race(monkeypatch, calls):
    """Run `calls` in threads that all reach the guarded UPDATE before any of them runs it."""
    barrier = threading.Barrier(len(calls), timeout=20)
    original = persistence.save

    def save_after_everyone_loaded(**kwargs):
        barrier.wait()
        return original(**kwargs)

    monkeypatch.setattr(persistence, "save", save_after_everyone_loaded)
    results: list = [None] * len(calls)

    def run(i, fn):
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    monkeypatch.setattr(persistence, "save", original)
    return results


def test_two_completes_exactly_one_wins(app, client, auth, world, make_user, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    other = make_user("reviewer", region=CITY_A)
    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    task = world.only_task(inst)
    task_id, version = task.id, inst.version
    headers = [auth(world.reviewer), auth(other)]
    decisions = ["approve", "return"]

    def call(i):
        def fn():
            c = app.test_client()
            r = c.post(f"/api/v1/tasks/{task_id}/complete", headers=headers[i],
                       json={"data": {"decision": decisions[i], "comment": f"审核人 {i}"}})
            return r.status_code, r.get_json()
        return fn

    results = _race(monkeypatch, [call(0), call(1)])
    statuses = sorted(r[0] for r in results)
    assert statuses == [200, 409], results
    loser = next(body for code, body in results if code == 409)
    assert loser["error"]["code"] == "stale" and "他人" in loser["error"]["message"]
    db.session.expire_all()
    row = db.session.get(ProcessInstance, inst.id)
    assert row.version == version + 1 and row.status == "running"
    winner = next(i for i, r in enumerate(results) if r[0] == 200)
    expected = "final_review" if decisions[winner] == "approve" else "submit_report"
    assert [t.name for t in service.current_tasks(inst=row)] == [expected]
    done = db.session.scalars(select(TaskHistory).where(TaskHistory.task_id == task_id,
                                                        TaskHistory.action != "claim")).all()
    assert len(done) == 1 and done[0].comment == f"审核人 {winner}"
    # the loser's page would now show who did it
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers[1 - winner],
                    json={"data": {"decision": "approve"}})
    assert r.status_code == 409 and "已由" in r.get_json()["error"]["message"]


def test_service_layer_race_leaves_no_trace_of_the_loser(app, world, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    from app.uow import commit
    from app.workflow.errors import Conflict

    inst = world.start()
    task_id = world.only_task(inst).id
    company_id = world.company.id

    def call():
        with app.app_context():
            from app.identity.models import User

            user = db.session.get(User, company_id)
            try:
                service.complete(task_id=task_id, user=user, data={"confirm": True})
                commit()
                return "won"
            except Conflict:
                db.session.rollback()
                return "lost"
            finally:
                db.session.remove()

    assert sorted(_race(monkeypatch, [call, call])) == ["lost", "won"]
    db.session.expire_all()
    assert len(db.session.scalars(select(TaskHistory).where(
        TaskHistory.action == "complete")).all()) == 1
