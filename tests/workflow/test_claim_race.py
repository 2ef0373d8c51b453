"""Claim and complete are one guarded write apart (issue 11, point 7): a claim raises the
instance's version in the same transaction as the assignee, so a complete by another
candidate that read the task before the claim committed fails at its version-guarded UPDATE
instead of completing a task someone else holds. Two threads, two sessions, PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.workflow import persistence, service
from app.workflow.models import ProcessInstance, TaskHistory, WorkTask

from .conftest import CITY_A


@pytest.fixture()
def review_task(app, world, make_user):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    return inst, world.only_task(inst).id, make_user("reviewer", region=CITY_A)


def _thread(fn, results, key):
    t = threading.Thread(target=lambda: results.__setitem__(key, fn()))
    t.start()
    return t


def test_a_claim_committed_after_the_completers_read_wins(app, auth, world, review_task,
                                                         monkeypatch):
    """B reads the unclaimed task, A claims and commits, then B writes: B gets 409."""
    inst, task_id, other = review_task
    read, claimed = threading.Event(), threading.Event()
    original = persistence.save

    def save_after_the_claim(**kwargs):
        read.set()
        assert claimed.wait(20)
        return original(**kwargs)

    monkeypatch.setattr(persistence, "save", save_after_the_claim)
    completer, claimer = auth(other), auth(world.reviewer)
    results: dict = {}
    t = _thread(lambda: app.test_client().post(
        f"/api/v1/tasks/{task_id}/complete", headers=completer,
        json={"data": {"decision": "approve", "comment": "B 审核"}}), results, "complete")
    assert read.wait(20)
    results["claim"] = app.test_client().post(f"/api/v1/tasks/{task_id}/claim",
                                              headers=claimer)
    claimed.set()
    t.join(30)
    monkeypatch.setattr(persistence, "save", original)
    assert results["claim"].status_code == 200, results["claim"].get_json()
    assert results["complete"].status_code == 409, results["complete"].get_json()
    db.session.expire_all()
    task = db.session.get(WorkTask, task_id)
    assert task is not None and task.assignee_id == world.reviewer.id
    assert not db.session.scalars(select(TaskHistory).where(
        TaskHistory.task_id == task_id, TaskHistory.action == "complete")).all()
    # the claimer can still do the work; the other candidate still cannot
    r = app.test_client().post(f"/api/v1/tasks/{task_id}/complete", headers=completer,
                               json={"data": {"decision": "approve"}})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "claimed"
    r = app.test_client().post(f"/api/v1/tasks/{task_id}/complete", headers=claimer,
                               json={"data": {"decision": "approve", "comment": "A"}})
    assert r.status_code == 200, r.get_json()


def test_simultaneous_claim_and_complete_exactly_one_wins(app, auth, world, review_task,
                                                          monkeypatch):
    """Both have read the task before either writes: one write wins, the other is a 409,
    and the stored state is the winner's alone."""
    inst, task_id, other = review_task
    barrier = threading.Barrier(2, timeout=20)
    save, guard = persistence.save, service._guard

    def save_together(**kwargs):
        barrier.wait()
        return save(**kwargs)

    def guard_together(task):
        barrier.wait()
        return guard(task)

    monkeypatch.setattr(persistence, "save", save_together)
    monkeypatch.setattr(service, "_guard", guard_together)
    completer, claimer = auth(other), auth(world.reviewer)
    results: dict = {}
    threads = [
        _thread(lambda: app.test_client().post(
            f"/api/v1/tasks/{task_id}/complete", headers=completer,
            json={"data": {"decision": "approve", "comment": "B"}}), results, "complete"),
        _thread(lambda: app.test_client().post(
            f"/api/v1/tasks/{task_id}/claim", headers=claimer), results, "claim")]
    for t in threads:
        t.join(30)
    codes = {k: r.status_code for k, r in results.items()}
    assert sorted(codes.values()) == [200, 409], codes
    db.session.expire_all()
    task = db.session.get(WorkTask, task_id)
    done = db.session.scalars(select(TaskHistory).where(
        TaskHistory.task_id == task_id, TaskHistory.action == "complete")).all()
    if codes["claim"] == 200:
        assert task is not None and task.assignee_id == world.reviewer.id and not done
    else:
        assert task is None and len(done) == 1 and done[0].user_id == other.id
    assert db.session.get(ProcessInstance, inst.id).status == "running"
