"""processes/camunda_sample: a plain Camunda Modeler model (inline forms, gateways, DMN)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from app.workflow.engine import (
    FormValidationError,
    RestrictedScriptEngine,
    complete_task,
    form_exists,
    is_completed,
    load_model,
    new_workflow,
    ready_human_tasks,
    refresh,
    registered_services,
    set_timer_due,
    validate_model,
    waiting_timers,
)

from .conftest import ROLES, read_process

FILES = read_process("camunda_sample")
BUNDLE = load_model(FILES)
APPLICATION = {"project_name": "余热回收改造", "investment": 800, "expected_saving": 6000,
               "start_date": "2025-03-01", "category": "energy_saving", "agree": True}


@pytest.fixture
def archived():
    return []


@pytest.fixture
def engine(archived):
    def archive(data):
        archived.append(data)
        return {"archive_no": f"ARC-{len(archived):04d}"}
    return RestrictedScriptEngine(services={"sample.archive": archive})


def do(wf, name, lane, data):
    task = next(t for t in ready_human_tasks(wf) if t.name == name)
    assert task.lane == lane
    complete_task(wf, task.task_id, data, form=BUNDLE.form_for(name))
    return task


def data_of(wf, name):
    task = next(t for t in ready_human_tasks(wf) if t.name == name)
    return wf.get_task_from_id(UUID(task.task_id)).data


def test_loads_as_camunda_and_validates_without_problems():
    assert BUNDLE.flavor == "camunda"
    assert BUNDLE.lanes == {"fill_application": "enterprise", "technical_review": "verifier",
                            "finance_review": "reviewer", "simple_review": "reviewer"}
    assert validate_model(FILES, known_roles=ROLES,
                          known_services=registered_services() | {"sample.archive"},
                          form_exists=form_exists) == []
    problems = validate_model(FILES, known_roles=ROLES,
                              known_services=registered_services() - {"sample.archive"},
                              form_exists=form_exists)
    assert problems == []  # an external task: without the service it waits for a worker


def test_inline_form_validates_submissions(engine):
    wf = new_workflow(BUNDLE, {}, engine)
    [task] = ready_human_tasks(wf)
    assert (task.name, task.form_kind, task.form_name) == ("fill_application", "inline", None)
    with pytest.raises(FormValidationError) as info:
        complete_task(wf, task.task_id, {"project_name": "", "investment": -1,
                                         "expected_saving": "很多", "category": "x"},
                      form=BUNDLE.form_for(task.name))
    assert info.value.errors == {"project_name": "不能为空", "investment": "不得小于 0",
                                 "expected_saving": "必须是整数",
                                 "category": "取值必须是以下之一: energy_saving, renewable, other",
                                 "agree": "必填"}


def test_level_a_runs_parallel_reviews_and_merges_their_data(engine, archived):
    wf = new_workflow(BUNDLE, {}, engine)
    do(wf, "fill_application", "enterprise", APPLICATION)
    assert sorted(t.name for t in ready_human_tasks(wf)) == ["finance_review",
                                                             "technical_review"]
    assert data_of(wf, "finance_review")["level"] == "A"
    assert data_of(wf, "finance_review")["review_track"] == "重点审核"
    do(wf, "technical_review", "verifier", {"tech_opinion": "技术可行", "tech_pass": True})
    do(wf, "finance_review", "reviewer", {"finance_opinion": "投资合理"})
    assert is_completed(wf)
    [archived_data] = archived
    assert archived_data["tech_opinion"] == "技术可行"
    assert archived_data["finance_opinion"] == "投资合理"
    assert wf.last_task.data["archive_no"] == "ARC-0001"


@pytest.mark.parametrize(("saving", "category", "level"), [
    (500, "energy_saving", "C"), (2000, "other", "B"), (2000, "renewable", "A"),
    (5000, "other", "A"),
])
def test_dmn_decides_the_level(engine, saving, category, level):
    wf = new_workflow(BUNDLE, {}, engine)
    do(wf, "fill_application", "enterprise",
       {**APPLICATION, "expected_saving": saving, "category": category})
    names = sorted(t.name for t in ready_human_tasks(wf))
    assert data_of(wf, names[0])["level"] == level
    expected = ["finance_review", "technical_review"] if level == "A" else ["simple_review"]
    assert names == expected


def test_simple_path_with_return_reminder_and_approval(engine, archived):
    wf = new_workflow(BUNDLE, {}, engine)
    do(wf, "fill_application", "enterprise", {**APPLICATION, "expected_saving": 300})
    task = next(iter(ready_human_tasks(wf)))
    assert (task.name, task.form_kind) == ("simple_review", "generic")
    [timer] = waiting_timers(wf)  # bare "P2D" from Camunda Modeler
    assert timedelta(days=1, hours=23) < timer.fire_at - datetime.now(UTC) <= timedelta(days=2)
    set_timer_due(wf, timer.task_id, datetime.now(UTC) - timedelta(seconds=1))
    assert refresh(wf) == [timer.task_id]
    assert [t.name for t in ready_human_tasks(wf)] == ["simple_review"]  # non-interrupting
    do(wf, "simple_review", "reviewer", {"decision": "return", "comment": "请补充节能量测算"})
    do(wf, "fill_application", "enterprise", {**APPLICATION, "expected_saving": 1200,
                                              "category": "other"})
    do(wf, "simple_review", "reviewer", {"decision": "approve"})
    assert is_completed(wf) and archived[0]["level"] == "B"
