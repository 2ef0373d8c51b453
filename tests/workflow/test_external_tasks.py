# ruff: noqa: E501  (inline BPMN documents)
"""External service tasks: Camunda external tasks and Spiff connector operators declared
external at deploy wait for a worker, which uses the Camunda-7-style REST API with a machine
client key (scoped, audited): fetch-and-lock, complete, failure with retries and back-off
(0 retries: the instance errs and an administrator's retry restores it), BPMN error caught
by a boundary event, extend lock. The worker is scripts/external_worker.py."""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.db import utcnow
from app.extensions import db
from app.uow import commit
from app.workflow.external.models import ExternalTask

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "external_worker", ROOT / "scripts/external_worker.py"
)
external_worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(external_worker)

CAMUNDA = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0">
  <bpmn:error id="Error_calc" name="计算失败" errorCode="NO_AMOUNT" />
  <bpmn:process id="ext_calc" name="外部计算" isExecutable="true" camunda:historyTimeToLive="180">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Task_calc" name="碳排放计算" camunda:type="external" camunda:topic="carbon-calc">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:boundaryEvent id="Event_err" name="计算失败" attachedToRef="Task_calc">
      <bpmn:outgoing>Flow_err</bpmn:outgoing><bpmn:errorEventDefinition id="ErrDef_1" errorRef="Error_calc" /></bpmn:boundaryEvent>
    <bpmn:userTask id="Task_check" name="核对结果"><bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Task_fix" name="补充数据"><bpmn:incoming>Flow_err</bpmn:incoming><bpmn:outgoing>Flow_4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End_1"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_2"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_calc" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_calc" targetRef="Task_check" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_check" targetRef="End_1" />
    <bpmn:sequenceFlow id="Flow_err" sourceRef="Event_err" targetRef="Task_fix" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Task_fix" targetRef="End_2" />
  </bpmn:process>
</bpmn:definitions>"""

SPIFF = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_96f6665" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="3.0.0-dev">
  <bpmn:process id="spiff_connector" name="连接器" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Activity_http" name="查询电网数据">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="http/GetRequestV2" resultVariable="response">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="url" type="str" value="&quot;https://example.org/grid&quot;" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_0</bpmn:incoming><bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_0" sourceRef="StartEvent_1" targetRef="Activity_http" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Activity_http" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>"""


def _deploy(client, headers, name, xml, external=None):
    data = {"files": [(BytesIO(xml.encode()), name)]}
    if external:
        data["external"] = external
    return client.post(
        "/api/v1/process-models", headers=headers, data=data, content_type="multipart/form-data"
    )


@pytest.fixture
def worker_key(world):
    from app.exchange import clients

    _, key = clients.create(
        name="calc-worker", enterprises=[world.ent.uscc], permissions=["workflow.external"]
    )
    _, other = clients.create(
        name="other-worker", enterprises=[world.ent_b.uscc], permissions=["workflow.external"]
    )
    commit()
    return key, other


def _transport(client, key):
    def post(path, body):
        r = client.post("/api/v1/external-task" + path, json=body, headers={"X-API-Key": key})
        return r.status_code, (r.get_json() if r.data else None)

    return post


def _start(client, auth, world, model, data):
    r = client.post(
        "/api/v1/process-instances",
        headers=auth(world.company),
        json={"model": model, "data": data},
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_camunda_external_task_worker_completes_and_bpmn_error_is_caught(
    client, auth, world, worker_key
):
    key, other_key = worker_key
    assert _deploy(client, auth(world.designer), "ext_calc.bpmn", CAMUNDA).status_code == 201
    inst = _start(client, auth, world, "ext_calc", {"amount": 21})
    assert inst["status"] == "running" and inst["tasks"] == []  # waits for the worker
    # a worker outside the case's scope sees nothing; one without the permission is refused
    other = external_worker.Worker(_transport(client, other_key), "w-other", "carbon-calc")
    assert other.run_once() == []
    r = client.post(
        "/api/v1/external-task/fetchAndLock",
        headers=auth(world.reviewer),
        json={"workerId": "x", "topics": [{"topicName": "carbon-calc", "lockDuration": 1000}]},
    )
    assert r.status_code == 403
    worker = external_worker.Worker(_transport(client, key), "w1", "carbon-calc")
    outcome = worker.run_once()
    assert [o for _, o in outcome] == ["complete"]
    r = client.get(f"/api/v1/process-instances/{inst['id']}", headers=auth(world.company))
    body = r.get_json()
    assert [t["name"] for t in body["tasks"]] == ["Task_check"]
    assert body["history"][-1]["action"] == "external"
    assert db.session.scalars(select(ExternalTask)).all() == []
    # the business error path: no amount -> BpmnError NO_AMOUNT -> boundary event
    inst2 = _start(client, auth, world, "ext_calc", {})
    assert [o for _, o in worker.run_once()] == ["bpmnError"]
    r = client.get(f"/api/v1/process-instances/{inst2['id']}", headers=auth(world.company))
    assert [t["name"] for t in r.get_json()["tasks"]] == ["Task_fix"]
    actions = set(
        db.session.scalars(
            select(AuditRecord.action).where(AuditRecord.action.like("workflow.external.%"))
        )
    )
    assert {
        "workflow.external.lock",
        "workflow.external.complete",
        "workflow.external.bpmn_error",
    } <= actions


def test_failure_retries_backoff_incident_and_admin_retry(client, auth, world, worker_key):
    key, _ = worker_key
    _deploy(client, auth(world.designer), "ext_calc.bpmn", CAMUNDA)
    inst = _start(client, auth, world, "ext_calc", {"amount": -1})
    post = _transport(client, key)
    worker = external_worker.Worker(post, "w1", "carbon-calc", retries=2, retry_timeout_ms=60_000)
    assert [o for _, o in worker.run_once()] == ["failure"]
    row = db.session.scalars(select(ExternalTask)).one()
    assert row.retries == 2 and row.error_message == "计算服务暂不可用" and row.worker_id is None
    assert worker.run_once() == []  # back-off: not offered before retryTimeout
    row.retry_at = utcnow() - timedelta(seconds=1)
    commit()
    assert [o for _, o in worker.run_once()] == ["failure"]  # retries 2 -> 1
    row = db.session.scalars(select(ExternalTask)).one()
    row.retry_at = None
    commit()
    assert [o for _, o in worker.run_once()] == ["failure"]  # 1 -> 0: incident
    admin = client.get(
        f"/api/v1/process-instances/{inst['id']}", headers=auth(world.admin)
    ).get_json()
    assert admin["status"] == "error" and "没有剩余重试次数" in admin["error"]
    listed = client.get("/api/v1/external-task", headers=auth(world.admin)).get_json()
    assert listed[0]["incident"] is True and listed[0]["errorMessage"] == "计算服务暂不可用"
    assert worker.run_once() == []  # an incident is not offered
    r = client.post(f"/api/v1/process-instances/{inst['id']}/retry", headers=auth(world.admin))
    assert r.status_code == 200 and r.get_json()["status"] == "running"
    worker.handler = lambda task: {"result": 0}
    assert [o for _, o in worker.run_once()] == ["complete"]


def test_lock_rules_and_extend_lock(client, auth, world, worker_key):
    key, other_key = worker_key
    _deploy(client, auth(world.designer), "ext_calc.bpmn", CAMUNDA)
    _start(client, auth, world, "ext_calc", {"amount": 1})
    post = _transport(client, key)
    status, tasks = post(
        "/fetchAndLock",
        {
            "workerId": "w1",
            "maxTasks": 5,
            "topics": [
                {"topicName": "carbon-calc", "lockDuration": 60_000, "variables": ["amount"]}
            ],
        },
    )
    assert status == 200 and len(tasks) == 1
    task = tasks[0]
    assert task["variables"] == {"amount": {"value": 1, "type": "Integer", "valueInfo": {}}}
    assert task["activityId"] == "Task_calc" and task["topicName"] == "carbon-calc"
    assert post(
        "/fetchAndLock",
        {"workerId": "w2", "topics": [{"topicName": "carbon-calc", "lockDuration": 1000}]},
    ) == (200, [])  # locked
    assert post(f"/{task['id']}/complete", {"workerId": "w2"})[0] == 409
    assert _transport(client, other_key)(f"/{task['id']}/complete", {"workerId": "w1"})[0] == 404
    assert post(f"/{task['id']}/extendLock", {"workerId": "w1", "newDuration": 120_000})[0] == 204
    row = db.session.get(ExternalTask, task["id"])
    db.session.refresh(row)
    assert row.lock_expires_at > utcnow() + timedelta(seconds=100)
    assert post(f"/{task['id']}/extendLock", {"workerId": "w1", "newDuration": "x"})[0] == 422
    assert post(f"/{task['id']}/complete", {"workerId": "w1", "variables": {"_x": 1}})[0] == 422
    refused = db.session.scalars(
        select(AuditRecord.summary).where(AuditRecord.action == "workflow.external.refused")
    ).all()
    refused = [json.loads(r) for r in refused]
    assert {"complete", "extend_lock"} <= {r["endpoint"] for r in refused}
    assert {409, 404, 422} <= {r["status"] for r in refused}


def test_unimplemented_service_task_is_reported_with_the_external_choice(
    client, auth, world, worker_key
):
    key, _ = worker_key
    headers = auth(world.designer)
    r = _deploy(client, headers, "spiff_connector.bpmn", SPIFF)
    assert r.status_code == 422
    problems = r.get_json()["error"]["problems"]
    assert any(p["element_id"] == "Activity_http" and "外部任务" in p["message"] for p in problems)
    r = _deploy(client, headers, "spiff_connector.bpmn", SPIFF, external="http/GetRequestV2")
    assert r.status_code == 201, r.get_json()
    inst = _start(client, auth, world, "spiff_connector", {})
    worker = external_worker.Worker(
        _transport(client, key),
        "w1",
        "http/GetRequestV2",
        handler=lambda task: {"grid": {"value": {"mw": 5}, "type": "Json"}},
    )
    assert [o for _, o in worker.run_once()] == ["complete"]
    r = client.get(f"/api/v1/process-instances/{inst['id']}", headers=auth(world.company))
    assert r.get_json()["status"] == "completed"


# ---- the worker as a live process against a live server ------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_url(app):
    """The application served over real HTTP (Werkzeug, threaded) for this test."""
    import threading

    from werkzeug.serving import make_server

    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)


def _run_worker(url: str, key: str, *extra: str) -> list[tuple[str, str]]:
    """One poll of scripts/external_worker.py in its own process (plain urllib)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts/external_worker.py"), "--url", url, "--key", key,
         "--topic", "carbon-calc", "--worker-id", "live-worker", "--once", *extra],
        capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return [tuple(line.split()) for line in proc.stdout.splitlines() if line.strip()]


def _state(client, auth, world, inst_id):
    db.session.expire_all()
    body = client.get(f"/api/v1/process-instances/{inst_id}", headers=auth(world.admin)).get_json()
    return body["status"], [t["name"] for t in body["tasks"]], body


def test_live_worker_process_completes_fails_with_backoff_and_throws_bpmn_error(
    client, auth, world, worker_key, live_url
):
    """The example worker runs as a subprocess over HTTP against a live server: complete
    with variables, BPMN error to the boundary event, failure with retries and back-off."""
    import time

    key, _ = worker_key
    assert _deploy(client, auth(world.designer), "ext_calc.bpmn", CAMUNDA).status_code == 201
    ok = _start(client, auth, world, "ext_calc", {"amount": 21})
    assert _state(client, auth, world, ok["id"])[:2] == ("running", [])
    [(tid, outcome)] = _run_worker(live_url, key)
    assert outcome == "complete"
    status, tasks, body = _state(client, auth, world, ok["id"])
    assert (status, tasks) == ("running", ["Task_check"])
    from app.workflow import service
    from app.workflow.models import ProcessInstance

    inst = db.session.get(ProcessInstance, ok["id"])
    assert service.task_data(inst, body["tasks"][0]["id"])["result"] == 42  # the variable
    assert _run_worker(live_url, key) == []  # nothing left on the topic

    error = _start(client, auth, world, "ext_calc", {})  # no amount: BpmnError NO_AMOUNT
    assert [o for _, o in _run_worker(live_url, key)] == ["bpmnError"]
    assert _state(client, auth, world, error["id"])[:2] == ("running", ["Task_fix"])

    failing = _start(client, auth, world, "ext_calc", {"amount": -1})  # the handler raises
    assert [o for _, o in _run_worker(live_url, key, "--retries", "2",
                                      "--retry-timeout-ms", "1500")] == ["failure"]
    db.session.expire_all()
    row = db.session.scalars(select(ExternalTask)).one()
    assert (row.retries, row.error_message, row.worker_id) == (2, "计算服务暂不可用", None)
    assert row.retry_at is not None and row.retry_at > utcnow()
    assert _state(client, auth, world, failing["id"])[:2] == ("running", [])
    assert _run_worker(live_url, key) == []  # back-off: not offered before retryTimeout
    time.sleep(max(0.0, (row.retry_at - utcnow()).total_seconds()) + 0.2)
    assert [o for _, o in _run_worker(live_url, key, "--retries", "2")] == ["failure"]
    db.session.expire_all()
    assert db.session.scalars(select(ExternalTask)).one().retries == 1  # counted down
    assert _state(client, auth, world, failing["id"])[0] == "running"
