# ruff: noqa: E501  (inline BPMN documents)
"""Timer cycles: ISO 8601 repeating intervals and cron expressions (Quartz as Camunda writes
them, and Unix) on boundary events, in Beijing time; they fire and re-arm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.workflow.engine import (
    ModelError,
    deserialize,
    load_model,
    new_workflow,
    ready_human_tasks,
    refresh,
    serialize,
    set_timer_due,
    validate_model,
    waiting_timers,
)
from app.workflow.engine.cron import Cron, CronError

from .conftest import ROLES

MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0">
  <bpmn:process id="remind" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_review" name="审核"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="Event_remind" name="每日提醒" cancelActivity="false" attachedToRef="Task_review">
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TED_1"><bpmn:timeCycle xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="Task_count" name="计数"><bpmn:incoming>Flow_3</bpmn:incoming><bpmn:outgoing>Flow_4</bpmn:outgoing>
      <bpmn:script>reminders = get_value("reminders", 0) + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="End_r"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_review" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_review" targetRef="End_1" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_remind" targetRef="Task_count" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Task_count" targetRef="End_r" />
  </bpmn:process>
</bpmn:definitions>"""


def _fire(wf):
    [timer] = waiting_timers(wf)
    set_timer_due(wf, timer.task_id, datetime.now(UTC) - timedelta(seconds=1))
    return refresh(wf)


def _count_runs(wf):
    return len([t for t in wf.get_tasks(spec_name="End_r")])


@pytest.mark.parametrize("cycle", ["R3/PT10M", "0 0 9 * * ?", "0 9 * * MON-FRI"])
def test_cycle_timer_on_boundary_fires_and_rearms(cycle):
    bundle = load_model({"r.bpmn": MODEL.format(cycle=cycle).encode()})
    wf = new_workflow(bundle, {})
    [timer] = waiting_timers(wf)
    now = datetime.now(UTC)
    if cycle.startswith("R"):
        assert timedelta(minutes=9) < timer.fire_at - now <= timedelta(minutes=10)
    else:
        local = timer.fire_at.astimezone(ZoneInfo("Asia/Shanghai"))
        assert (local.hour, local.minute) == (9, 0) and timer.fire_at > now
    for n in (1, 2):
        wf = deserialize(bundle, serialize(wf))
        assert _fire(wf)
        assert _count_runs(wf) == n
        assert len(ready_human_tasks(wf)) == 1  # the review waits on (non-interrupting)
    if cycle.startswith("R"):
        _fire(wf)
        assert _count_runs(wf) == 3 and waiting_timers(wf) == []  # R3: three times
    else:
        [again] = waiting_timers(wf)
        assert again.fire_at > datetime.now(UTC)  # cron: re-armed for the next day


def test_cron_expressions():
    base = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # Saturday 10:00 Beijing
    assert Cron("0 0 9 * * ?").next_after(base) == datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    assert Cron("0 0/15 9-17 ? * MON-FRI").next_after(base) == datetime(
        2026, 12, 7, 1, 0, tzinfo=UTC
    )
    assert Cron("0 30 10 1 * ?").next_after(base) == datetime(2027, 1, 1, 2, 30, tzinfo=UTC)
    assert Cron("*/5 * * * *").next_after(base) == datetime(2026, 12, 5, 2, 5, tzinfo=UTC)
    assert Cron("0 0 12 ? * 1").next_after(base) == datetime(
        2026, 12, 6, 4, 0, tzinfo=UTC
    )  # Quartz 1 = SUN
    for bad in ("0 0 9 L * ?", "0 61 9 * * ?", "0 0 9 * *  * * *"):
        with pytest.raises(CronError):
            Cron(bad)


def test_bad_cron_is_reported_at_deploy():
    files = {"r.bpmn": MODEL.format(cycle="0 0 9 L * ?").encode()}
    with pytest.raises(ModelError, match="L"):
        load_model(files)
    problems = validate_model(
        files, known_roles=ROLES, known_services=set(), form_exists=lambda n: False
    )
    assert any(p.element_id == "Event_remind" and "cron" in p.message for p in problems)


START = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="daily" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="每天 9 点"><bpmn:outgoing>Flow_1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TED_1"><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:userTask id="Task_fill" name="填报日数据"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_fill" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_fill" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("cycle", ["R2/PT1H", "0 0 9 * * ?"])
def test_cycle_timer_start_event_runs_the_body_at_each_occurrence(cycle):
    bundle = load_model({"d.bpmn": START.format(cycle=cycle).encode()})
    wf = new_workflow(bundle, {})
    assert ready_human_tasks(wf) == [] and len(waiting_timers(wf)) == 1
    for n in (1, 2):
        wf = deserialize(bundle, serialize(wf))
        assert _fire(wf)
        assert len(ready_human_tasks(wf)) == n
