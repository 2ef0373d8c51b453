# ruff: noqa: E501  (inline BPMN documents)
"""A Camunda multi-instance user task over a collection gives one inbox task per element,
each completed on its own; the instance goes on when all are done."""

from __future__ import annotations

from io import BytesIO

MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0">
  <bpmn:process id="countersign" name="多部门会签" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_r" name="reviewer"><bpmn:flowNodeRef>Task_sign</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_e" name="enterprise"><bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>EndEvent_1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_sign" name="部门会签">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${departments}" camunda:elementVariable="department" />
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_sign" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_sign" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>"""


def test_one_inbox_task_per_element(client, auth, world):
    r = client.post(
        "/api/v1/process-models",
        headers=auth(world.designer),
        data={"files": [(BytesIO(MODEL.encode()), "countersign.bpmn")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    r = client.post(
        "/api/v1/process-instances",
        headers=auth(world.company),
        json={"model": "countersign", "data": {"departments": ["生态环境局", "发改委", "经信局"]}},
    )
    inst = r.get_json()
    assert r.status_code == 201 and len(inst["tasks"]) == 3, inst
    reviewer = auth(world.reviewer)
    inbox = client.get("/api/v1/tasks", headers=reviewer).get_json()
    assert len([t for t in inbox if t["instance_id"] == inst["id"]]) == 3
    assert {t["label"] for t in inbox} == {"部门会签"}
    for i, task in enumerate(inst["tasks"]):
        r = client.post(
            f"/api/v1/tasks/{task['id']}/complete",
            headers=reviewer,
            json={"data": {"decision": "approve"}},
        )
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["status"] == ("completed" if i == 2 else "running")
        assert len(r.get_json()["tasks"]) == 2 - i
