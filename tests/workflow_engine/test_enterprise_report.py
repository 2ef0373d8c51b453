"""End-to-end runs of processes/enterprise_report (送审 → 初审 → 终审) in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from app.workflow.engine import (
    FormValidationError,
    RestrictedScriptEngine,
    complete_task,
    deserialize,
    form_exists,
    is_completed,
    load_model,
    new_workflow,
    ready_human_tasks,
    refresh,
    registered_services,
    serialize,
    set_timer_due,
    validate_model,
    waiting_timers,
)
from app.workflow.engine.builtin_services import (
    case_remind,
    report_publish,
    report_self_check,
    verification_request,
    verification_required,
)

from .conftest import ROLES, read_process

BUNDLE = load_model(read_process("enterprise_report"))


@pytest.fixture
def run():
    """A runner that persists and reloads the instance around every step, as the web
    layer will, and records service calls."""
    calls: list[tuple[str, dict]] = []

    def recorded(name, fn):
        def wrapper(data, **params):
            calls.append((name, params))
            return fn(data, **params)
        return wrapper

    engine = RestrictedScriptEngine(services={
        "report.self_check": recorded("report.self_check", report_self_check),
        "report.publish": recorded("report.publish", report_publish),
        "case.remind": recorded("case.remind", case_remind),
        "verification.required": recorded("verification.required", verification_required),
        "verification.request": recorded("verification.request", verification_request),
    })

    class Runner:
        def __init__(self, data):
            self.calls = calls
            self.blob = serialize(new_workflow(BUNDLE, data, engine))

        @property
        def wf(self):
            return deserialize(BUNDLE, self.blob, engine)

        def task(self):
            [task] = ready_human_tasks(self.wf)
            return task

        def do(self, name, lane, data):
            wf = self.wf
            [task] = ready_human_tasks(wf)
            assert (task.name, task.lane) == (name, lane)
            complete_task(wf, task.task_id, data, form=BUNDLE.form_for(task.name))
            self.blob = serialize(wf)

        def timers(self):
            wf = self.wf
            return {wf.get_task_from_id(UUID(t.task_id)).task_spec.name: t
                    for t in waiting_timers(wf)}

        def expire(self, timer_name):
            wf = self.wf
            timer = self.timers()[timer_name]
            set_timer_due(wf, timer.task_id, datetime.now(UTC) - timedelta(seconds=1))
            fired = refresh(wf)
            self.blob = serialize(wf)
            return fired, timer.task_id

        def data(self):
            """Data of the waiting human task, or of the last task once completed."""
            wf = self.wf
            ready = ready_human_tasks(wf)
            if ready:
                return wf.get_task_from_id(UUID(ready[0].task_id)).data
            return wf.last_task.data

    return Runner


APPROVE = {"decision": "approve", "comment": "同意"}
SUBMIT = {"confirm": True}


def test_model_is_deployable():
    assert validate_model(read_process("enterprise_report"), known_roles=ROLES,
                          known_services=registered_services(), form_exists=form_exists) == []
    assert BUNDLE.user_tasks["initial_review"].label == "初审"
    assert BUNDLE.user_tasks["final_review"].label == "终审"


def test_approve_path(run):
    r = run({"report_id": 9, "self_check_result": {"passed": True, "warnings": ["电耗偏高"]}})
    assert r.task().form_name == "submit_report"
    r.do("submit_report", "enterprise", {**SUBMIT, "explanation": "新增产线试运行"})
    assert set(r.timers()) == {"initial_review_reminder", "initial_review_deadline"}
    r.do("initial_review", "reviewer", APPROVE)
    assert set(r.timers()) == {"final_review_reminder", "final_review_deadline"}
    r.do("final_review", "approver", APPROVE)
    wf = r.wf
    assert is_completed(wf) and waiting_timers(wf) == []
    data = r.data()
    assert data["self_check"] == {"passed": True, "warnings": ["电耗偏高"]}
    assert data["explanation"] == "新增产线试运行" and "publish_requested_at" in data
    # no verification asked for: the case only checks whether it needs one
    assert [c[0] for c in r.calls] == ["report.self_check", "verification.required",
                                       "report.publish"]


def test_return_and_resubmit_path(run):
    r = run({"report_id": 9})
    r.do("submit_report", "enterprise", SUBMIT)
    with pytest.raises(FormValidationError, match="comment"):
        r.do("initial_review", "reviewer", {"decision": "return"})  # comment required
    r.do("initial_review", "reviewer", {"decision": "return", "comment": "请补充天然气数据"})
    r.do("submit_report", "enterprise", {**SUBMIT, "explanation": "已补充"})
    r.do("initial_review", "reviewer", APPROVE)
    r.do("final_review", "approver", {"decision": "return", "comment": "产值口径有误"})
    assert r.data()["comment"] == "产值口径有误"
    r.do("submit_report", "enterprise", SUBMIT)
    r.do("initial_review", "reviewer", APPROVE)
    r.do("final_review", "approver", APPROVE)
    assert is_completed(r.wf)
    assert [c[0] for c in r.calls].count("report.publish") == 1


def test_reminder_does_not_interrupt_the_review(run):
    r = run({"review_deadline_reminder": "PT2H", "review_deadline": "P5D"})
    r.do("submit_report", "enterprise", SUBMIT)
    timers = r.timers()
    now = datetime.now(UTC)
    assert timedelta(hours=1, minutes=59) < timers["initial_review_reminder"].fire_at - now \
        <= timedelta(hours=2)
    assert timedelta(days=4, hours=23) < timers["initial_review_deadline"].fire_at - now \
        <= timedelta(days=5)
    fired, timer_id = r.expire("initial_review_reminder")
    assert fired == [timer_id]
    assert ("case.remind", {"stage": "initial_review"}) in r.calls
    assert r.task().name == "initial_review"  # still with the reviewer
    assert set(r.timers()) == {"initial_review_deadline"}
    r.do("initial_review", "reviewer", APPROVE)
    r.expire("final_review_reminder")
    assert ("case.remind", {"stage": "final_review"}) in r.calls
    r.do("final_review", "approver", APPROVE)
    assert is_completed(r.wf)


def test_initial_review_deadline_escalates_to_final_review(run):
    r = run({})
    r.do("submit_report", "enterprise", SUBMIT)
    fired, deadline_id = r.expire("initial_review_deadline")
    assert fired == [deadline_id]  # the cancelled reminder did not fire
    task = r.task()
    assert (task.name, task.lane) == ("final_review", "approver")
    assert r.data()["escalated_from"] == "initial_review"
    assert set(r.timers()) == {"final_review_reminder", "final_review_deadline"}
    r.do("final_review", "approver", APPROVE)
    assert is_completed(r.wf)


def test_final_review_deadline_goes_to_admin(run):
    r = run({})
    r.do("submit_report", "enterprise", SUBMIT)
    r.do("initial_review", "reviewer", APPROVE)
    r.expire("final_review_deadline")
    task = r.task()
    assert (task.name, task.lane, task.form_name) == ("admin_review", "admin", "review_decision")
    assert r.data()["escalated_from"] == "final_review"
    r.do("admin_review", "admin", {"decision": "return", "comment": "超时退回，请重新送审"})
    assert r.task().name == "submit_report"
    r.do("submit_report", "enterprise", SUBMIT)
    r.do("initial_review", "reviewer", APPROVE)
    r.do("final_review", "approver", APPROVE)
    assert is_completed(r.wf)


def test_very_short_deadline_from_data(run):
    # review_deadline of zero: initial review escalates at once, then final review too.
    r = run({"review_deadline": "PT0S"})
    r.do("submit_report", "enterprise", SUBMIT)
    task = r.task()
    assert (task.name, task.lane) == ("admin_review", "admin")
    r.do("admin_review", "admin", APPROVE)
    assert is_completed(r.wf)
