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


@pytest.mark.parametrize("seq", ["false", "true"])
def test_camunda_collection_as_an_expression_with_output_collection(seq):
    """Camunda accepts any expression as the collection: evaluated once at the start, its
    items become the element variable; Camunda's output parameter collects the results
    through SpiffWorkflow's standard output collection written beside it."""
    model = CAMUNDA.format(seq=seq).replace(
        "${reviewers}", "${[r['name'] for r in reviewers if r['active']]}"
    ).replace(
        'camunda:elementVariable="reviewer" />',
        'camunda:elementVariable="reviewer"><bpmn:loopDataOutputRef>opinions</bpmn:loopDataOutputRef>'
        '<bpmn:outputDataItem id="opinion" name="opinion" /></bpmn:multiInstanceLoopCharacteristics>',
    ).replace("done = len(reviewers)", "done = len(opinions)")
    bundle = load_model({"mi.bpmn": model.encode()})
    reviewers = [{"name": "张三", "active": True}, {"name": "李四", "active": False},
                 {"name": "王五", "active": True}]
    wf = new_workflow(bundle, {"reviewers": reviewers})
    seen = []
    while not wf.is_completed():
        ready = ready_human_tasks(wf)
        assert len(ready) == (2 - len(seen) if seq == "false" else 1)
        task = ready[0]
        who = _data(wf, task.task_id)["reviewer"]
        seen.append(who)
        complete_task(wf, task.task_id, {"decision": "approve", "opinion": f"{who}同意"})
        wf = deserialize(bundle, serialize(wf))
    assert sorted(seen) == ["张三", "王五"]
    end = wf.get_tasks(spec_name="EndEvent_1")[0].data
    assert end["done"] == 2 and sorted(end["opinions"]) == ["张三同意", "王五同意"]
    assert not [k for k in end if k.startswith("_mi_")]  # the evaluated list is not kept


@pytest.mark.parametrize("collection", ["items", "${items}", "${list(range(3))}", "${sorted(set(items))}"])
def test_camunda_collection_forms(collection):
    """A plain name, a wrapped name, and expressions yielding a list or a range."""
    model = CAMUNDA.format(seq="false").replace("${reviewers}", collection).replace(
        "done = len(reviewers)", "done = 1")
    bundle = load_model({"mi.bpmn": model.encode()})
    wf = new_workflow(bundle, {"items": ["a", "b", "c"]})
    ready = ready_human_tasks(wf)
    expected = [0, 1, 2] if "range" in collection else ["a", "b", "c"]
    assert sorted(_data(wf, t.task_id)["reviewer"] for t in ready) == expected


def test_camunda_collection_expression_errors():
    """Unsafe or broken expressions are refused at deploy naming the element; a value that
    is not a list puts the instance into the error state at run time."""
    for bad, words in (("${().__class__}", "不安全"), ("${[x for x in}", "语法错误")):
        model = CAMUNDA.format(seq="false").replace("${reviewers}", bad)
        with pytest.raises(ModelError, match="camunda:collection"):
            load_model({"mi.bpmn": model.encode()})
        problems = validate_model({"mi.bpmn": model.encode()}, known_roles=ROLES,
                                  known_services=set(), form_exists=lambda n: False)
        assert any("camunda:collection" in p.message and words in p.message
                   and p.element_id == "Task_sign" for p in problems)
    model = CAMUNDA.format(seq="false").replace("${reviewers}", "${len(reviewers)}")
    bundle = load_model({"mi.bpmn": model.encode()})
    with pytest.raises(Exception, match="必须是列表"):
        new_workflow(bundle, {"reviewers": ["a"]})


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
