"""The verification process end to end through the service layer: a clean opinion; a
qualified opinion after a finding and a correction; a declined assignment; a body with a
declared conflict (and one past its consecutive years) refused; team and independence."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.extensions import db
from app.uow import commit, rollback
from app.verification import evidence, service
from app.verification import statement as statements
from app.verification.models import BodyConflict, Statement, Verification
from app.workflow import assignment
from app.workflow import service as workflow
from app.workflow.errors import Forbidden, Invalid, NotFound

from .conftest import YEAR, correct_month

PLAN = {
    "level_of_assurance": "reasonable",
    "materiality_pct": 5,
    "risk_combustion": "high",
    "risk_process": "low",
    "risk_electricity": "low",
    "risk_heat": "low",
}
SITE = {"site_visit_date": "2026-03-02", "people_met": "王厂长（生产）、李会计（财务）"}


def _inbox(user):
    return [t.name for t in db.session.scalars(assignment.tasks_query(user=user))]


def _audited(action):
    return db.session.scalars(select(AuditRecord).where(AuditRecord.action == action)).all()


def _check_all(w, v, user, status="checked"):
    for source, month in evidence.missing_checks(v=v):
        evidence.record_check(v=v, user=user, source=source, month=month, status=status)
    commit()


def _accept_and_plan(w, inst):
    inst = w.do(inst, "assign_body", w.reviewer, {"body_code": "VB-A"})
    inst = w.do(inst, "accept_assignment", w.lead, {"decision": "accept", "team": w.member.email})
    return w.do(inst, "plan", w.lead, PLAN)


def test_clean_opinion_returns_a_signed_statement_to_the_report_case(vworld):
    w = vworld
    report = w.report()
    assert [t.name for t in w.tasks(report)] == []  # the report waits for the result
    v, inst = w.verification(report)
    assert (v.status, v.year, v.reason) == ("requested", YEAR, "初审要求第三方核查")
    # before assignment no verifier sees the case or its tasks
    assert _inbox(w.lead) == [] and service.list_for(user=w.lead) == []
    with pytest.raises(NotFound):
        service.get(verification_id=v.id, user=w.lead)
    inst = w.do(inst, "assign_body", w.reviewer, {"body_code": "VB-A"})
    assert _inbox(w.lead) == ["accept_assignment"] and _inbox(w.other) == []
    inst = w.do(inst, "accept_assignment", w.lead, {"decision": "accept", "team": w.member.email})
    v = service.get(verification_id=v.id, user=w.member)
    assert service.team_ids(v) == [w.lead.id, w.member.id]
    with pytest.raises(Forbidden):  # the plan is the team's
        workflow.complete(task_id=w.task(inst, "plan").id, user=w.checker, data=PLAN)
    rollback()
    assert _audited("verification.refused")
    inst = w.do(inst, "plan", w.lead, PLAN)
    v = db.session.get(Verification, v.id)
    # electricity is 30 of 1,030 t a month (2.9 %): sampled, 4 of 12 months (30 % rounded up)
    assert v.sampling and len(evidence.missing_checks(v=v)) == 12 + 4
    with pytest.raises(Invalid) as exc:  # the sampled review first
        workflow.complete(task_id=w.task(inst, "fieldwork").id, user=w.lead, data=SITE)
    assert "文件评审尚未完成" in exc.value.fields["_form"]
    rollback()
    _check_all(w, v, w.member)
    inst = w.do(inst, "fieldwork", w.lead, SITE)
    assert [t.name for t in w.tasks(inst)] == ["conclusion"]  # no findings
    inst = w.do(
        inst,
        "conclusion",
        w.member,
        {
            "verified_combustion": 12000,
            "verified_process": 0,
            "verified_electricity": 360,
            "verified_heat": 0,
            "opinion": "unqualified",
        },
    )
    with pytest.raises(Forbidden):  # independence: not a team member
        workflow.complete(
            task_id=w.task(inst, "independent_review").id, user=w.lead, data={"decision": "approve"}
        )
    rollback()
    inst = w.do(inst, "independent_review", w.checker, {"decision": "approve"})
    # the job signed the statement, the case ended and the report case went on to 终审
    db.session.expire_all()
    assert inst.status == "completed"
    stmt = db.session.scalars(select(Statement)).one()
    assert (stmt.opinion, stmt.level, Decimal(stmt.verified_total)) == (
        "unqualified",
        "reasonable",
        Decimal("12360"),
    )
    assert statements.check(stmt)["valid"] is True
    assert [t.name for t in w.tasks(report)] == ["final_review"]
    data = workflow.task_data(report)
    assert data["statement_uid"] == stmt.uid and data["opinion"] == "unqualified"
    v = db.session.get(Verification, v.id)
    assert v.status == "completed" and v.reviewer_user_id == w.checker.id
    report = w.do(report, "final_review", w.approver, {"decision": "approve"})
    assert report.status == "completed"
    assert {"verification.assign", "verification.accept", "verification.statement.sign"} <= {
        a.action for a in db.session.scalars(select(AuditRecord))
    }


def test_qualified_opinion_with_a_finding_and_a_correction(vworld):
    w = vworld
    report = w.report()
    v, inst = w.verification(report)
    inst = _accept_and_plan(w, inst)
    v = db.session.get(Verification, v.id)
    _check_all(w, v, w.lead)
    with pytest.raises(Invalid) as exc:  # field by field, in Chinese
        evidence.raise_finding(
            v=v, user=w.lead, requirement="", description="", due_date="2020-01-01"
        )
    assert set(exc.value.fields) == {"requirement", "description", "due_date"}
    rollback()
    due = (date.today() + timedelta(days=14)).isoformat()
    f1 = evidence.raise_finding(
        v=v,
        user=w.lead,
        requirement="GB/T 32150 6.3 活动数据",
        description="3 月燃煤消耗量与入库单不符",
        due_date=due,
    )
    f2 = evidence.raise_finding(
        v=v,
        user=w.lead,
        requirement="计量器具检定",
        description="2 号电表检定证书过期",
        due_date=due,
    )
    commit()
    inst = w.do(inst, "fieldwork", w.lead, SITE)
    assert [t.name for t in w.tasks(inst)] == ["respond_findings"]
    assert _inbox(w.company) == ["respond_findings"]
    with pytest.raises(Forbidden):  # only the enterprise answers
        evidence.answer_finding(v=v, user=w.lead, finding_id=f1.id, response="x")
    rollback()
    v = db.session.get(Verification, v.id)
    evidence.answer_finding(
        v=v,
        user=w.company,
        finding_id=f1.id,
        response="已按入库单更正 3 月燃煤数据",
        corrected=True,
    )
    evidence.answer_finding(v=v, user=w.company, finding_id=f2.id, response="已送检，证书待出具")
    correct_month(db, w.ent, month=3, combustion=Decimal("1100"))  # the account recomputes
    commit()
    inst = w.do(inst, "respond_findings", w.company, {"comment": "已整改"})
    v = db.session.get(Verification, v.id)
    rows = {r["source"]: r for r in evidence.before_after(v=v)}
    assert (Decimal(rows["combustion"]["before"]), Decimal(rows["combustion"]["after"])) == (
        Decimal("12000"),
        Decimal("12100"),
    )
    with pytest.raises(Invalid):  # the team must close or keep each one
        workflow.complete(task_id=w.task(inst, "review_findings").id, user=w.lead, data={})
    rollback()
    v = db.session.get(Verification, v.id)
    evidence.decide_finding(v=v, user=w.lead, finding_id=f1.id, decision="closed")
    evidence.decide_finding(
        v=v, user=w.lead, finding_id=f2.id, decision="kept", note="检定证书未提供"
    )
    commit()
    inst = w.do(inst, "review_findings", w.lead, {})
    verified = {
        "verified_combustion": 12100,
        "verified_process": 0,
        "verified_electricity": 330,
        "verified_heat": 0,
    }
    with pytest.raises(Invalid) as exc:  # a kept finding: no clean opinion
        workflow.complete(
            task_id=w.task(inst, "conclusion").id,
            user=w.lead,
            data={
                **verified,
                "opinion": "unqualified",
                "difference_reasons": "2 号电表 1 月读数偏高",
            },
        )
    assert "保留的不符合项" in exc.value.fields["opinion"]
    rollback()
    with pytest.raises(Invalid) as exc:  # a difference needs its reasons
        workflow.complete(
            task_id=w.task(inst, "conclusion").id,
            user=w.lead,
            data={**verified, "opinion": "qualified"},
        )
    assert set(exc.value.fields) == {"difference_reasons"}
    rollback()
    inst = w.do(
        inst,
        "conclusion",
        w.lead,
        {**verified, "opinion": "qualified", "difference_reasons": "2 号电表读数偏高"},
    )
    inst = w.do(
        inst, "independent_review", w.checker, {"decision": "return", "comment": "请补充差异说明"}
    )
    assert [t.name for t in w.tasks(inst)] == ["conclusion"]
    inst = w.do(
        inst,
        "conclusion",
        w.lead,
        {**verified, "opinion": "qualified", "difference_reasons": "2 号电表 1 月读数偏高 30 t"},
    )
    inst = w.do(inst, "independent_review", w.checker, {"decision": "approve"})
    db.session.expire_all()
    stmt = db.session.scalars(select(Statement)).one()
    assert stmt.opinion == "qualified" and Decimal(stmt.verified_total) == Decimal("12430")
    v = db.session.get(Verification, v.id)
    diff = {
        r["source"]: Decimal(r["difference"]) for r in __import__("json").loads(v.verified)["rows"]
    }
    assert diff["electricity"] == Decimal("-30") and v.material is False
    assert [t.name for t in w.tasks(report)] == ["final_review"]


def test_declined_assignment_goes_back_and_the_body_loses_the_case(vworld):
    w = vworld
    v, inst = w.verification(w.report())
    inst = w.do(inst, "assign_body", w.reviewer, {"body_code": "VB-A"})
    with pytest.raises(Invalid) as exc:  # a reason is required to decline
        workflow.complete(
            task_id=w.task(inst, "accept_assignment").id, user=w.lead, data={"decision": "decline"}
        )
    assert "reason" in exc.value.fields
    rollback()
    inst = w.do(
        inst, "accept_assignment", w.lead, {"decision": "decline", "reason": "本季度核查员已满负荷"}
    )
    assert [t.name for t in w.tasks(inst)] == ["assign_body"]
    with pytest.raises(NotFound):  # no longer assigned: no longer visible
        service.get(verification_id=v.id, user=w.lead)
    with pytest.raises(NotFound):
        workflow.get_instance(instance_id=inst.id, user=w.lead)
    declined = _audited("verification.decline")
    assert declined and "满负荷" in declined[0].summary
    inst = w.do(inst, "assign_body", w.reviewer, {"body_code": "VB-B"})
    assert _inbox(w.other) == ["accept_assignment"] and _inbox(w.lead) == []
    outcomes = [a.outcome for a in service.history(v=db.session.get(Verification, v.id))]
    assert outcomes == ["assigned", "declined", "assigned"]


def test_conflict_of_interest_and_consecutive_years_are_refused(vworld, app):
    w = vworld
    db.session.add(
        BodyConflict(
            body_code="VB-A", enterprise_uscc=w.ent.uscc, reason="该机构为企业提供过碳资产咨询"
        )
    )
    commit()
    v, inst = w.verification(w.report())
    with pytest.raises(Invalid) as exc:
        workflow.complete(
            task_id=w.task(inst, "assign_body").id, user=w.reviewer, data={"body_code": "VB-A"}
        )
    assert "利益冲突" in exc.value.fields["body_code"]
    rollback()
    refusal = _audited("verification.assignment.refused")
    assert refusal and "VB-A" in refusal[0].summary
    # body B verified the enterprise the three years before: over the limit of 3
    for year in (YEAR - 3, YEAR - 2, YEAR - 1):
        db.session.add(
            Verification(
                instance_id=_dummy_instance(w),
                enterprise_uscc=w.ent.uscc,
                year=year,
                body_code="VB-B",
                status="completed",
            )
        )
    commit()
    inst = db.session.get(type(inst), inst.id)
    with pytest.raises(Invalid) as exc:
        workflow.complete(
            task_id=w.task(inst, "assign_body").id, user=w.reviewer, data={"body_code": "VB-B"}
        )
    assert "连续 3 年" in exc.value.fields["body_code"]
    rollback()
    app.config["CECP_VERIFICATION_MAX_CONSECUTIVE_YEARS"] = 4
    try:
        inst = db.session.get(type(inst), inst.id)
        inst = w.do(inst, "assign_body", w.reviewer, {"body_code": "VB-B"})
        assert [t.name for t in w.tasks(inst)] == ["accept_assignment"]
    finally:
        app.config["CECP_VERIFICATION_MAX_CONSECUTIVE_YEARS"] = 3
    assert service.assignment_errors(v=v, body_code="NOPE", user=w.reviewer) == {
        "body_code": "核查机构不存在"
    }
    w.body.accreditation_scope = "25"  # petroleum only: cement is out of its scope
    commit()
    assert (
        "认可范围" in service.assignment_errors(v=v, body_code="VB-A", user=w.reviewer)["body_code"]
    )


def _dummy_instance(w):
    """A finished verification case of an earlier year (the history the rule reads)."""
    from app.workflow import deploy
    from app.workflow.models import ProcessInstance

    row, version = deploy.get_latest(key_or_id=service.PROCESS)
    inst = ProcessInstance(
        model_id=row.id,
        version_id=version.id,
        process_key=row.key,
        title="往年核查",
        status="completed",
        blob="{}",
        enterprise_uscc=w.ent.uscc,
        region_code=w.ent.region_code,
    )
    db.session.add(inst)
    db.session.flush()
    return inst.id


def test_key_emitters_always_need_verification(vworld):
    w = vworld
    report = w.report(require=False)
    assert [t.name for t in w.tasks(report)] == ["final_review"]  # 12,360 t: not required
    w.ent.key_emitter = True
    commit()
    w.do(report, "final_review", w.approver, {"decision": "return", "comment": "重报"})
    report = w.do(report, "submit_report", w.company, {"confirm": True})
    report = w.do(report, "initial_review", w.reviewer, {"decision": "approve"})
    assert [t.name for t in w.tasks(report)] == []
    v, _ = w.verification(report)
    assert v.reason == "重点排放单位（企业标记）"


def test_the_key_emitter_threshold_is_configurable(vworld, app):
    from app.verification import rules

    w = vworld
    assert rules.required(uscc=w.ent.uscc, year=YEAR, asked=False) is None  # 12,360 t
    app.config["CECP_VERIFICATION_KEY_EMITTER_TCO2"] = "12000"
    try:
        reason = rules.required(uscc=w.ent.uscc, year=YEAR, asked=False)
    finally:
        app.config["CECP_VERIFICATION_KEY_EMITTER_TCO2"] = "26000"
    assert "12,360" in reason and "第八条" in reason
    assert rules.required(uscc=w.ent.uscc, year=YEAR - 1, asked=False) is None  # no data
