# ruff: noqa: E501  (inline BPMN documents)
"""Multi-instance as modelers write it: Camunda's camunda:collection/elementVariable,
SpiffArena's loopDataInputRef/inputDataItem/outputDataItem with an output collection, and
loopCardinality; parallel and sequential; a user task inside produces one task each."""

from __future__ import annotations

from uuid import UUID

import pytest

from app.workflow.engine import (
    ModelError,
    complete_task,
    deserialize,
    load_model,
    new_workflow,
    ready_human_tasks,
    serialize,
    validate_model,
)

from .conftest import ROLES

CAMUNDA = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0">
  <bpmn:process id="mi_camunda" name="会签" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_sign" name="会签审核">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="{seq}" camunda:collection="${{reviewers}}" camunda:elementVariable="reviewer" />
    </bpmn:userTask>
    <bpmn:scriptTask id="Task_count" name="统计" scriptFormat="python">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:script>done = len(reviewers)</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_sign" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_sign" targetRef="Task_count" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_count" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>"""

SPIFF = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_96f6665" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="3.0.0-dev">
  <bpmn:process id="mi_spiff" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="Activity_calc" name="逐项计算">
      <bpmn:incoming>Flow_0</bpmn:incoming><bpmn:outgoing>Flow_1</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopDataInputRef>meters</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>emissions</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="meter" name="meter" />
        <bpmn:outputDataItem id="emission" name="emission" />
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>emission = round(meter["kwh"] * factor, 3)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:manualTask id="Activity_repeat" name="现场检查">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
    </bpmn:manualTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_0" sourceRef="StartEvent_1" targetRef="Activity_calc" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Activity_calc" targetRef="Activity_repeat" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_repeat" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>"""


def _data(wf, task_id):
    return wf.get_task_from_id(UUID(task_id)).data


def test_camunda_collection_parallel_one_user_task_each():
    bundle = load_model({"mi.bpmn": CAMUNDA.format(seq="false").encode()})
    wf = new_workflow(bundle, {"reviewers": ["张三", "李四", "王五"]})
    ready = ready_human_tasks(wf)
    assert len(ready) == 3 and {t.label for t in ready} == {"会签审核"}
    assert sorted(_data(wf, t.task_id)["reviewer"] for t in ready) == sorted(
        ["张三", "李四", "王五"]
    )
    assert bundle.form_for(ready[0].name)["schema"]  # the child spec has the task's form
    wf = deserialize(bundle, serialize(wf))
    for t in ready:
        complete_task(wf, t.task_id, {"decision": "approve"})
    assert wf.is_completed()
    assert wf.get_tasks(spec_name="EndEvent_1")[0].data["done"] == 3


def test_camunda_collection_sequential_one_at_a_time():
    bundle = load_model({"mi.bpmn": CAMUNDA.format(seq="true").encode()})
    wf = new_workflow(bundle, {"reviewers": ["a", "b"]})
    seen = []
    while not wf.is_completed():
        ready = ready_human_tasks(wf)
        assert len(ready) == 1
        seen.append(_data(wf, ready[0].task_id)["reviewer"])
        complete_task(wf, ready[0].task_id, {"decision": "approve"})
    assert seen == ["a", "b"]


def test_spiff_input_output_collections_and_cardinality():
    bundle = load_model({"mi.bpmn": SPIFF.encode()})
    wf = new_workflow(bundle, {"meters": [{"kwh": 100}, {"kwh": 250}], "factor": 0.5703})
    assert wf.get_tasks(spec_name="Activity_repeat [child]")[0].data["emissions"] == [
        57.03,
        142.575,
    ]
    for _ in range(2):
        ready = ready_human_tasks(wf)
        assert len(ready) == 1 and ready[0].label == "现场检查"
        complete_task(wf, ready[0].task_id, {})
    assert wf.is_completed()


def test_camunda_collection_must_name_a_variable():
    bad = CAMUNDA.format(seq="false").replace("${reviewers}", "${order.reviewers()}")
    with pytest.raises(ModelError, match="camunda:collection"):
        load_model({"mi.bpmn": bad.encode()})
    problems = validate_model(
        {"mi.bpmn": bad.encode()},
        known_roles=ROLES,
        known_services=set(),
        form_exists=lambda n: False,
    )
    assert any("camunda:collection" in p.message for p in problems)


def test_camunda_completion_condition_with_instance_counters():
    model = (
        CAMUNDA.format(seq="false")
        .replace(
            'camunda:elementVariable="reviewer" />',
            'camunda:elementVariable="reviewer"><bpmn:completionCondition xsi:type="bpmn:tFormalExpression" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${{nrOfCompletedInstances / nrOfInstances >= 0.6}}'
            "</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics>",
        )
        .replace("{{", "{")
        .replace("}}", "}")
    )
    bundle = load_model({"mi.bpmn": model.encode()})
    wf = new_workflow(bundle, {"reviewers": ["a", "b", "c"]})
    ready = ready_human_tasks(wf)
    complete_task(wf, ready[0].task_id, {"decision": "approve"})
    assert len(ready_human_tasks(wf)) == 2  # 1/3 < 0.6
    complete_task(wf, ready[1].task_id, {"decision": "approve"})
    assert wf.is_completed() and ready_human_tasks(wf) == []  # 2/3: the third is cancelled
    assert "nrOfInstances" not in wf.get_tasks(spec_name="EndEvent_1")[0].data
