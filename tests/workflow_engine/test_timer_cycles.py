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
    for bad in ("0 0 9 LW * ?", "0 0 9 L-3 * ?", "0 61 9 * * ?", "0 0 9 * *  * * *",
                "0 0 9 ? * 8", "0 0 9 32 * ?", "0 0 9 ? * 6#6"):
        with pytest.raises(CronError):
            Cron(bad)


BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("expression", "after", "expected"), [
    # Quartz L: last day of the month (February of a common year, then a leap year)
    ("0 0 9 L * ?", (2027, 2, 1, 10), [(2027, 2, 28), (2027, 3, 31), (2027, 4, 30)]),
    ("0 0 9 L 2 ? 2028", (2027, 5, 1, 0), [(2028, 2, 29)]),
    # W: the weekday nearest the 15th (2026-11-15 is a Sunday -> Monday 16th; 2026-08-15
    # is a Saturday -> Friday 14th), and 1W never leaves the month (2026-08-01 Saturday -> 3rd)
    ("0 0 9 15W * ?", (2026, 11, 1, 0), [(2026, 11, 16), (2026, 12, 15)]),
    ("0 0 9 15W * ?", (2026, 8, 1, 0), [(2026, 8, 14)]),
    ("0 0 9 1W * ?", (2026, 7, 15, 0), [(2026, 8, 3), (2026, 9, 1)]),
    # #: Quartz 6#3 = the third Friday (1 = SUN), FRI#3 the same, Unix 5#3 too
    ("0 0 9 ? * 6#3", (2026, 10, 1, 0), [(2026, 10, 16), (2026, 11, 20), (2026, 12, 18)]),
    ("0 0 9 ? * FRI#3", (2026, 10, 1, 0), [(2026, 10, 16)]),
    ("0 9 * * 5#3", (2026, 10, 1, 0), [(2026, 10, 16)]),
    # Quartz 6L: the last Friday; 2-6 = MON-FRI; 2/2 = MON, WED, FRI
    ("0 0 9 ? * 6L", (2026, 10, 1, 0), [(2026, 10, 30), (2026, 11, 27)]),
    ("0 0 9 ? * 2-6", (2026, 12, 5, 0), [(2026, 12, 7), (2026, 12, 8)]),
    ("0 0 9 ? * 2/2", (2026, 12, 7, 10), [(2026, 12, 9), (2026, 12, 11), (2026, 12, 14)]),
    # 7 fields: a year; a past year never fires
    ("0 0 9 1 1 ? 2028", (2026, 1, 1, 0), [(2028, 1, 1)]),
    ("0 0 9 * * ? 2025", (2026, 1, 1, 0), []),
])
def test_cron_l_w_hash_and_quartz_fields_in_beijing_time(expression, after, expected):
    """Next fire times at 09:00 Beijing (01:00 UTC) on the expected days."""
    moment = datetime(*after, tzinfo=BEIJING)
    cron, got = Cron(expression), []
    for _ in expected or [None]:
        nxt = cron.next_after(moment)
        if nxt is None:
            break
        got.append(nxt)
        moment = nxt
    assert got == [datetime(y, m, d, 9, tzinfo=BEIJING) for y, m, d in expected]
    assert all(g.tzinfo == UTC and g.hour == 1 for g in got)


def test_cron_with_l_runs_as_a_boundary_timer():
    bundle = load_model({"r.bpmn": MODEL.format(cycle="0 0 9 L * ?").encode()})
    wf = new_workflow(bundle, {})
    [timer] = waiting_timers(wf)
    local = timer.fire_at.astimezone(BEIJING)
    assert (local + timedelta(days=1)).day == 1 and (local.hour, local.minute) == (9, 0)
    wf = deserialize(bundle, serialize(wf))
    assert _fire(wf) and _count_runs(wf) == 1


def test_bad_cron_is_reported_at_deploy():
    files = {"r.bpmn": MODEL.format(cycle="0 0 9 LW * ?").encode()}
    with pytest.raises(ModelError, match="LW"):
        load_model(files)
    problems = validate_model(
        files, known_roles=ROLES, known_services=set(), form_exists=lambda n: False
    )
    assert any(p.element_id == "Event_remind" and "cron" in p.message
               and "每日提醒" in p.message for p in problems)


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
