# ruff: noqa: E501  (inline BPMN documents)
"""POST /api/v1/messages: a message start event starts an instance, an intermediate message
catch event resumes the one instance whose data match the correlation keys; no match ->
404, ambiguous -> 409; scoped to the caller, audited (refusals too)."""

from __future__ import annotations

from io import BytesIO

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.extensions import db
from app.uow import commit
from app.workflow import persistence
from app.workflow.models import ProcessInstance

ORDER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0">
  <bpmn:message id="Message_order" name="order-received" />
  <bpmn:message id="Message_pay" name="payment-received" />
  <bpmn:process id="order_flow" name="订单" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="收到订单"><bpmn:outgoing>Flow_1</bpmn:outgoing><bpmn:messageEventDefinition id="MED_1" messageRef="Message_order" /></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Event_pay" name="等待付款"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing><bpmn:messageEventDefinition id="MED_2" messageRef="Message_pay" /></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Task_check" name="核对付款"><bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_pay" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Event_pay" targetRef="Task_check" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_check" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def keys(world):
    from app.exchange import clients

    _, key = clients.create(
        name="erp", enterprises=[world.ent.uscc], permissions=["workflow.message"]
    )
    _, other = clients.create(
        name="erp-b", enterprises=[world.ent_b.uscc], permissions=["workflow.message"]
    )
    commit()
    return key, other


def _send(client, key, **body):
    r = client.post("/api/v1/messages", json=body, headers={"X-API-Key": key})
    return r.status_code, r.get_json()


def test_message_start_and_correlated_catch(client, auth, world, keys):
    key, other = keys
    r = client.post(
        "/api/v1/process-models",
        headers=auth(world.designer),
        data={"files": [(BytesIO(ORDER.encode()), "order.bpmn")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    s1, b1 = _send(
        client,
        key,
        messageName="order-received",
        correlationKeys={"order_no": "A1"},
        processVariables={"amount": {"value": 100, "type": "Integer"}},
    )
    s2, b2 = _send(client, key, messageName="order-received", correlationKeys={"order_no": "A2"})
    assert (s1, s2) == (200, 200) and b1["started"] and b1["status"] == "running"
    status, body = _send(client, key, messageName="payment-received")
    assert status == 409 and body["error"]["code"] == "ambiguous"
    assert str(b1["processInstanceId"]) in body["error"]["message"]
    status, body = _send(
        client, other, messageName="payment-received", correlationKeys={"order_no": "A1"}
    )
    assert status == 404 and "payment-received" in body["error"]["message"]  # not in scope
    status, body = _send(
        client,
        key,
        messageName="payment-received",
        correlationKeys={"order_no": {"value": "A1", "type": "String"}},
        processVariables={"paid": True},
    )
    assert status == 200 and body == {
        "resultType": "Execution",
        "started": False,
        "processInstanceId": b1["processInstanceId"],
        "status": "running",
    }
    inst = client.get(
        f"/api/v1/process-instances/{b1['processInstanceId']}", headers=auth(world.admin)
    ).get_json()
    assert [t["name"] for t in inst["tasks"]] == ["Task_check"]
    assert [h["action"] for h in inst["history"]].count("message") == 2
    opened = persistence.open_instance(db.session.get(ProcessInstance, b1["processInstanceId"]))
    data = opened.wf.get_tasks(spec_name="Task_check")[0].data
    assert (data["order_no"], data["amount"], data["paid"]) == ("A1", 100, True)
    status, body = _send(
        client, key, messageName="payment-received", correlationKeys={"order_no": "A1"}
    )
    assert status == 404  # it waits no more
    status, body = _send(client, key, messageName="no-such-message")
    assert status == 404 and "no-such-message" in body["error"]["message"]
    r = client.post(
        "/api/v1/messages", headers=auth(world.reviewer), json={"messageName": "order-received"}
    )
    assert r.status_code == 403
    actions = db.session.scalars(
        select(AuditRecord.action).where(AuditRecord.action.like("workflow.message.%"))
    ).all()
    assert actions.count("workflow.message.correlate") == 3
    assert actions.count("workflow.message.refused") == 5


def test_bad_message_requests_name_the_field(client, keys):
    key, _ = keys
    assert _send(client, key, correlationKeys={})[1]["error"]["fields"] == {"messageName": "必填"}
    status, body = _send(client, key, messageName="x", correlationKeys=[1])
    assert status == 422 and "correlationKeys" in body["error"]["fields"]
    status, body = _send(client, key, messageName="x", processInstanceId="abc")
    assert status == 422 and "processInstanceId" in body["error"]["fields"]
