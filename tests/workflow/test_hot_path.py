"""The completion hot path: the derived rows are written from the blob's difference (never
read back) and always equal what the stored blob says; one audit append per action (one
lock, one read of the last hash, one INSERT) keeps the chain intact; a statement budget
guards against regressions (each statement costs a round trip on every completion)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.audit import service as audit
from app.audit.models import AuditRecord
from app.extensions import db
from app.uow import commit
from app.workflow import events, persistence, service
from app.workflow.models import ProcessInstance, TimerSchedule, WorkTask

APPROVE = {"decision": "approve", "comment": "同意"}


def _assert_rows_mirror_blob(inst_id: int) -> None:
    """The inbox and timer rows are exactly what the stored blob derives."""
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, inst_id)
    expected = persistence.open_instance(inst).before
    tasks = {t.id: t.due_at for t in db.session.scalars(
        select(WorkTask).where(WorkTask.instance_id == inst_id))}
    timers = {t.task_id: t.fire_at for t in db.session.scalars(
        select(TimerSchedule).where(TimerSchedule.instance_id == inst_id))}
    assert tasks == {k: due for k, (_, due) in expected.tasks.items()}
    assert timers == expected.timers


def test_rows_mirror_the_blob_through_return_move_and_approval(world):
    inst = world.start()
    _assert_rows_mirror_blob(inst.id)
    steps = [("submit_report", world.company, {"confirm": True}),
             ("initial_review", world.reviewer, {"decision": "return", "comment": "补充"}),
             ("submit_report", world.company, {"confirm": True}),
             ("initial_review", world.reviewer, APPROVE)]
    for name, user, data in steps:
        inst = world.do(inst, name, user, data)
        _assert_rows_mirror_blob(inst.id)
    later = datetime.now(UTC) + timedelta(days=30)
    events.move_timers(instance_id=inst.id, fire_at=later, user=world.admin,
                       names={"final_review_deadline"})
    commit()
    _assert_rows_mirror_blob(inst.id)
    [task] = service.current_tasks(inst=inst)
    assert task.due_at == later.astimezone(UTC).replace(tzinfo=None)
    inst = world.do(inst, "final_review", world.approver, APPROVE)
    assert inst.status == "completed"
    _assert_rows_mirror_blob(inst.id)


def test_a_claim_survives_the_steps_that_keep_the_task(world):
    inst = world.start()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    task = world.only_task(inst)
    service.claim(task_id=task.id, user=world.reviewer)
    commit()
    events.move_timers(instance_id=inst.id, fire_at=datetime.now(UTC) + timedelta(days=9),
                       user=world.admin, names={"initial_review_reminder"})
    commit()
    db.session.expire_all()
    assert db.session.get(WorkTask, task.id).assignee_id == world.reviewer.id


def test_a_completed_task_leaves_the_session(world):
    inst = world.start()
    task_id = world.only_task(inst).id
    service.complete(task_id=task_id, user=world.company, data={"confirm": True})
    assert db.session.get(WorkTask, task_id) is None  # same transaction, no stale object
    commit()


def test_one_audit_append_per_action_and_the_chain_verifies(world, sql_log):
    inst = world.start()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    inst = world.do(inst, "initial_review", world.reviewer, APPROVE)
    task_id = world.only_task(inst).id
    with sql_log() as during:
        service.complete(task_id=task_id, user=world.approver, data=APPROVE)
    assert not [s for s in during if "audit_" in s]  # queued: the head is not touched yet
    with sql_log() as seen:
        commit()
    assert sum(s.startswith("UPDATE audit_head SET seq") for s in seen) == 1  # the claim
    assert not any(s.startswith("SELECT audit_record") for s in seen)
    if db.engine.dialect.name == "postgresql":  # records and new head: one statement
        writes = [s for s in seen if "INSERT INTO audit_record" in s]
        assert len(writes) == 1, writes
        assert writes[0].startswith("WITH w0 AS (INSERT INTO audit_record"), writes
        assert writes[0].endswith("UPDATE audit_head SET hash = %(w1_h)s WHERE id = 1")
    last_two = db.session.scalars(select(AuditRecord.action).order_by(
        AuditRecord.seq.desc()).limit(2)).all()
    assert last_two == ["workflow.task.complete", "report.publish"]
    assert audit.verify_chain() is None


def test_record_many_links_records_in_order(world):
    before = db.session.scalar(select(AuditRecord.seq).order_by(AuditRecord.seq.desc())
                               .limit(1)) or 0
    assert audit.record_many([{"action": "test.a", "summary": {"i": 1}},
                              {"action": "test.b", "email": "x@t.cecp"}]) == 2
    assert audit.record_many([]) == 0
    commit()
    rows = db.session.scalars(select(AuditRecord).where(AuditRecord.seq > before)
                              .order_by(AuditRecord.seq)).all()
    assert [r.action for r in rows] == ["test.a", "test.b"]
    assert rows[1].prev_hash == rows[0].hash
    assert audit.verify_chain() is None


def test_statement_budget_of_a_review_step(world, sql_log):
    """初审 approve: read the task with its instance, whether third-party verification is
    required (one read: the key-emitter flag and the year's total), the guarded UPDATE, the
    inbox and timer differences with the history row (one statement on PostgreSQL), the
    audit claim and append - nothing read back."""
    inst = world.start()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    task_id = world.only_task(inst).id
    service.get_task(task_id=task_id, user=world.reviewer)  # the user's roles and scopes
    db.session.expire_all()
    with sql_log() as seen:
        service.complete(task_id=task_id, user=world.reviewer, data=APPROVE)
        commit()
    work = [s for s in seen if not s.replace('"', "").startswith(
        ("SELECT user.", "SELECT role", "SELECT user_scope"))]
    # the step ends at its commit; the in-process outbox runner that follows (the step's
    # notification job, no Redis here) is not the step's work
    runner = [i for i, s in enumerate(work) if s.startswith("SELECT outbox_job.")]
    work = work[:runner[0]] if runner else work
    assert not [s for s in work if s.startswith(("SELECT workflow_timer",
                                                 "SELECT workflow_task.id FROM"))]
    if db.engine.dialect.name == "postgresql":  # task, verification rule, UPDATE, derived
        assert len(work) <= 6, "\n".join(work)  # rows, claim, append
        [derived] = [s for s in work if "DELETE FROM workflow_task" in s]
        assert "INSERT INTO workflow_task" in derived and "INSERT INTO workflow_history" in derived
    else:  # each write on its own
        assert len(work) <= 10, "\n".join(work)
