"""processes/enterprise_report end to end through the service layer (persistence, inbox,
history, audit): approve, return-and-resubmit, deadlines, self-check, publication."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.cases.models import Notification, ReportPublication
from app.extensions import db
from app.uow import commit
from app.workflow import assignment, deploy, events, service
from app.workflow.errors import Conflict, Forbidden, Invalid
from app.workflow.jobs import sweep
from app.workflow.models import ProcessInstance, TaskHistory, TimerSchedule

from .conftest import YEAR, add_accounts

APPROVE = {"decision": "approve", "comment": "同意"}


def _inbox(user, box="all"):
    return [t.name for t in db.session.scalars(assignment.tasks_query(user=user, box=box))]


def test_approve_path_publishes_the_figures(world):
    inst = world.start()
    commit()
    assert inst.status == "running" and inst.enterprise_uscc == world.ent.uscc
    assert inst.title == f"测试水泥有限公司 {YEAR}年度碳核算报告"
    data = service.task_data(inst)
    assert data["self_check"]["passed"] and data["self_check"]["months"] == 12
    assert _inbox(world.company) == ["submit_report"]
    assert _inbox(world.reviewer) == []
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    assert _inbox(world.reviewer, "claimable") == ["initial_review"]
    assert _inbox(world.approver) == [] and _inbox(world.reviewer_b) == []
    task = world.only_task(inst)
    assert task.lane == "reviewer" and task.region_code == "330522"
    assert task.due_at is not None and task.due_at > datetime.now(UTC).replace(tzinfo=None)
    inst = world.do(inst, "initial_review", world.reviewer, APPROVE)
    assert _inbox(world.approver) == ["final_review"]
    inst = world.do(inst, "final_review", world.approver, APPROVE)
    assert inst.status == "completed" and inst.completed_at is not None
    assert service.current_tasks(inst=inst) == []
    assert db.session.scalars(select(TimerSchedule)).all() == []
    pub = db.session.scalars(select(ReportPublication)).one()
    assert (pub.period_key, Decimal(pub.co2_total), pub.is_current) == (
        str(YEAR), Decimal("12000"), True)
    assert len(json.loads(pub.figures)) == 12
    actions = [h.action for h in service.history(inst=inst)]
    assert actions == ["start", "complete", "complete", "complete"]
    audited = set(db.session.scalars(select(AuditRecord.action)))
    assert {"workflow.instance.start", "workflow.task.complete", "report.publish"} <= audited
    assert inst.version == 4  # start + three steps, each a guarded UPDATE


def test_return_and_resubmit_goes_through_both_reviews_again(world):
    inst = world.start()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    with pytest.raises(Invalid) as exc:  # returning needs a comment
        service.complete(task_id=world.only_task(inst).id, user=world.reviewer,
                         data={"decision": "return"})
    assert exc.value.fields == {"comment": "必填"}
    db.session.rollback()
    inst = db.session.get(ProcessInstance, inst.id)
    service.return_task(task_id=world.only_task(inst).id, user=world.reviewer,
                        comment="3 月电量与电网数据不符，请核实")
    commit()
    task = world.only_task(inst)
    assert task.name == "submit_report"
    assert service.task_data(inst, task.id)["comment"] == "3 月电量与电网数据不符，请核实"
    inst = world.do(inst, "submit_report", world.company, {"confirm": True,
                                                            "explanation": "已核实并更正"})
    inst = world.do(inst, "initial_review", world.reviewer, APPROVE)
    inst = world.do(inst, "final_review", world.approver,
                    {"decision": "return", "comment": "终审退回"})
    assert world.only_task(inst).name == "submit_report"
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    inst = world.do(inst, "initial_review", world.reviewer, APPROVE)
    inst = world.do(inst, "final_review", world.approver, APPROVE)
    assert inst.status == "completed"
    actions = [h.action for h in service.history(inst=inst)]
    assert actions.count("return") == 2 and actions.count("complete") == 6


def test_deadline_path_reminds_then_escalates(world, app):
    inst = world.start()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    past = datetime.now(UTC) - timedelta(seconds=1)
    events.move_timers(instance_id=inst.id, fire_at=past, user=world.admin,
                        names={"initial_review_reminder"})
    commit()
    assert sweep() == 1
    commit()
    notes = db.session.scalars(select(Notification).where(Notification.kind == "reminder")).all()
    assert [n.user_id for n in notes] == [world.reviewer.id]  # not reviewer_b (city B)
    assert world.only_task(inst).name == "initial_review"  # non-interrupting
    events.move_timers(instance_id=inst.id, fire_at=past, user=world.admin,
                        names={"initial_review_deadline"})
    commit()
    assert sweep() == 1
    commit()
    db.session.expire_all()
    inst = db.session.get(ProcessInstance, inst.id)
    task = world.only_task(inst)
    assert task.name == "final_review"  # escalated to the province
    assert _inbox(world.approver) == ["final_review"]
    assert "timer" in [h.action for h in service.history(inst=inst)]
    # nothing due: the sweep does nothing
    assert sweep() == 0


def _case_with_warnings(world):
    """A case whose self-check warns: months missing and a month-on-month jump."""
    add_accounts(world.db, world.ent, year=YEAR - 1, months=[1, 2, 3],
                 co2={1: Decimal("100"), 2: Decimal("400"), 3: Decimal("100")})
    commit()
    return world.start(year=YEAR - 1)


def test_self_check_warnings_need_an_explanation(world):
    inst = _case_with_warnings(world)
    check = service.task_data(inst)["self_check"]
    codes = {w["code"] for w in check["warnings"]}
    assert {"missing_months", "jump"} <= codes and check["passed"]
    task = world.only_task(inst)
    with pytest.raises(Invalid) as exc:
        service.complete(task_id=task.id, user=world.company, data={"confirm": True})
    assert exc.value.fields == {"explanation": "自查发现预警，必须填写情况说明"}
    db.session.rollback()
    inst = world.do(inst, "submit_report", world.company,
                    {"confirm": True, "explanation": "4–12 月停产检修"})
    assert world.only_task(inst).name == "initial_review"


def test_no_data_blocks_submission(world):
    inst = world.start(year=YEAR - 3)
    check = service.task_data(inst)["self_check"]
    assert not check["passed"] and check["errors"][0]["code"] == "no_data"
    with pytest.raises(Invalid) as exc:
        service.complete(task_id=world.only_task(inst).id, user=world.company,
                         data={"confirm": True, "explanation": "x"})
    assert "_form" in exc.value.fields


def test_only_candidates_may_work(world):
    inst = world.start()
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    task = world.only_task(inst)
    with pytest.raises(Forbidden):
        service.complete(task_id=task.id, user=world.company, data=APPROVE)
    with pytest.raises(Forbidden):
        service.claim(task_id=task.id, user=world.approver)
    service.claim(task_id=task.id, user=world.reviewer)
    commit()
    other = world.reviewer  # the same user can claim twice (no-op)
    service.claim(task_id=task.id, user=other)
    assert _inbox(world.reviewer, "mine") == ["initial_review"]
    service.release(task_id=task.id, user=world.reviewer)
    commit()
    assert _inbox(world.reviewer, "mine") == [] and _inbox(world.reviewer, "claimable")


def test_completed_task_answers_conflict(world):
    inst = world.start()
    task = world.only_task(inst)
    world.do(inst, "submit_report", world.company, {"confirm": True})
    with pytest.raises(Conflict) as exc:
        service.complete(task_id=task.id, user=world.company, data={"confirm": True})
    assert "已由" in exc.value.message


def test_instances_keep_their_version(world):
    inst = world.start()
    commit()
    files = deploy.builtin_files("enterprise_report")
    again, created = deploy.deploy(files=files)
    assert not created and again.version == 1
    changed = {k: (v.replace(b"\xe5\x88\x9d\xe5\xae\xa1\"", b"\xe5\x88\x9d\xe5\xae\xa1 v2\"")
                   if k.endswith(".bpmn") else v) for k, v in files.items()}
    row, created = deploy.deploy(files=changed)
    commit()
    assert created and row.version == 2
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    assert inst.model_version.version == 1
    assert world.only_task(inst).label == "初审"
    new = world.start(year=YEAR - 1)  # (one open case per enterprise and period)
    assert new.model_version.version == 2
    assert db.session.scalars(select(TaskHistory)).first() is not None


def _submit_check(world, inst) -> dict:
    """The self-check the submission was judged by (it is in the next task's data)."""
    inst = world.do(inst, "submit_report", world.company,
                    {"confirm": True, "explanation": "说明"})
    return service.task_data(inst, world.only_task(inst).id)["self_check"]


def test_submission_reuses_the_check_when_nothing_changed(world, sql_log):
    from app.cases import selfcheck

    inst = world.start()
    shown = service.task_data(inst)["self_check"]
    assert selfcheck.still_valid(shown)
    with sql_log() as seen:
        submitted = _submit_check(world, inst)
    assert submitted == shown
    reads = [s for s in seen if "FROM carbon_account" in s]
    # basis only: one aggregate of the core checks and at most one per registered check
    # (the exchange's power-system check reads synced readings, not accounts)
    assert 1 <= len(reads) <= 1 + len(selfcheck.CHECKS), reads
    assert all("count(carbon_account.id)" in r or "count(*)" in r for r in reads), reads


def test_submission_checks_again_after_a_record_changed(world):
    from app.accounting.models import CarbonAccount

    inst = world.start()
    shown = service.task_data(inst)["self_check"]
    assert not any(w["code"] == "jump" for w in shown["warnings"])
    old = db.session.scalar(select(CarbonAccount).where(
        CarbonAccount.enterprise_id == world.ent.id, CarbonAccount.period == YEAR * 100 + 6))
    old.is_current = False  # a corrected June: a new version of the account
    db.session.flush()
    new = CarbonAccount(**{c.key: getattr(old, c.key) for c in CarbonAccount.__table__.c
                           if c.key != "id"})
    new.version, new.is_current, new.co2_total = 2, True, Decimal("5000")
    db.session.add(new)
    commit()
    again = _submit_check(world, inst)
    assert again["basis"] != shown["basis"]
    assert any(w["code"] == "jump" for w in again["warnings"])


def test_submission_checks_again_when_a_benchmark_appears(world):
    from app.accounting import codes
    from app.accounting.models import IndustryBenchmark
    from app.cases import selfcheck

    inst = world.start()
    shown = service.task_data(inst)["self_check"]
    assert shown["basis"]["benchmark"] == {"needed": True, "id": None}
    # the benchmark the code would grade against: comparison area and industry level
    cfg, ent = codes.settings(), world.ent
    db.session.add(IndustryBenchmark(
        period_type="year", period_key=str(YEAR), year=YEAR,
        area_code=codes.area_of(ent.region_code, cfg["area_level"]),
        industry_level=cfg["industry_level"],
        industry_code=codes.industry_of(ent.industry_code, cfg["industry_level"]), enterprises=10,
        co2_total=Decimal("1"), value_added_total=Decimal("1"), intensity=Decimal("0.5"),
        is_current=True))
    commit()
    assert not selfcheck.still_valid(shown)
    again = _submit_check(world, inst)
    assert any(w["code"] == "intensity" for w in again["warnings"])


def test_a_forged_check_in_task_data_is_not_trusted(world):
    from app.cases import selfcheck

    inst = _case_with_warnings(world)
    shown = service.task_data(inst)["self_check"]
    assert shown["warnings"] and selfcheck.still_valid(shown)
    forged = {**shown, "warnings": []}  # same basis, warnings dropped
    assert not selfcheck.still_valid(forged)


def test_publication_freezes_the_accounts_and_rounds_half_up(world):
    """The published versions become `published` (frozen: a later recompute leaves them);
    the published intensity follows the engine's half-up rule (0.0000005 → 0.000001)."""
    from app.accounting.models import CarbonAccount

    add_accounts(db, world.ent, year=YEAR - 1, months=[1], co2=Decimal("0.000001"),
                 value_added=Decimal("2"))
    commit()
    inst = world.start(year=YEAR - 1, month=1)
    data = service.task_data(inst)
    explain = {"explanation": "测试"} if data["self_check"]["warnings"] else {}
    inst = world.do(inst, "submit_report", world.company, {"confirm": True, **explain})
    inst = world.do(inst, "initial_review", world.reviewer, APPROVE)
    inst = world.do(inst, "final_review", world.approver, APPROVE)
    assert inst.status == "completed"
    pub = db.session.scalars(select(ReportPublication)).one()
    assert (pub.period_key, Decimal(pub.intensity)) == (f"{YEAR - 1}-01", Decimal("0.000001"))
    acc = db.session.scalars(select(CarbonAccount).where(
        CarbonAccount.period == (YEAR - 1) * 100 + 1)).one()
    assert (acc.status, acc.frozen_by, acc.is_current) == ("published",
                                                          world.approver.email, True)
    assert [a.id for a in db.session.scalars(select(CarbonAccount).where(
        CarbonAccount.status != "open"))] == [acc.id]
