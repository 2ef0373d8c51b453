# ruff: noqa: E501  (inline BPMN documents)
"""Bounded scripts end to end: a `while True: pass` model started by a user answers within
the CPU bound with a clear Chinese message, the instance is in the error state (audited,
the administrator sees the reason), and task data beyond its bound is refused."""

from __future__ import annotations

import time
from io import BytesIO

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.extensions import db
from app.workflow.engine.data_limit import BOUND
from app.workflow.engine.sandbox import LIMITS
from app.workflow.service import LIMIT_USER_MESSAGE

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">"""

LOOP = (
    HEAD
    + """
 <bpmn:process id="runaway" name="死循环模型" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:scriptTask id="calc" name="计算" scriptFormat="python"><bpmn:script>n = 0
while True:
    n += 1</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="u" name="确认"/>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>
  <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="u"/>
  <bpmn:sequenceFlow id="f3" sourceRef="u" targetRef="e"/>
 </bpmn:process>
</bpmn:definitions>"""
)

GROW = (
    HEAD.replace(
        "<bpmn:definitions ",
        '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ',
    )
    + """
 <bpmn:process id="grow" name="数据膨胀" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:userTask id="u" name="填写"><bpmn:extensionElements><camunda:formData>
   <camunda:formField id="note" label="备注" type="string"/></camunda:formData></bpmn:extensionElements></bpmn:userTask>
  <bpmn:scriptTask id="calc" name="复制"><bpmn:script>rows = [note for i in range(40)]</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="u2" name="确认"/>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/>
  <bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="calc"/>
  <bpmn:sequenceFlow id="f3" sourceRef="calc" targetRef="u2"/>
  <bpmn:sequenceFlow id="f4" sourceRef="u2" targetRef="e"/>
 </bpmn:process>
</bpmn:definitions>"""
)


@pytest.fixture
def limits():
    old = (LIMITS.cpu_seconds, BOUND.max_bytes)
    LIMITS.cpu_seconds, BOUND.max_bytes = 1.0, 64 * 1024
    yield
    LIMITS.cpu_seconds, BOUND.max_bytes = old


def _deploy(client, auth, world, name, xml):
    r = client.post(
        "/api/v1/process-models",
        headers=auth(world.designer),
        data={"files": [(BytesIO(xml.encode()), name)]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()


def test_endless_loop_model_answers_quickly_in_error_state(client, auth, world, limits):
    _deploy(client, auth, world, "runaway.bpmn", LOOP)
    started = time.monotonic()
    r = client.post(
        "/api/v1/process-instances",
        headers=auth(world.company),
        json={"model": "runaway", "data": {}},
    )
    elapsed = time.monotonic() - started
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert elapsed < LIMITS.cpu_seconds + 3
    assert body["status"] == "error" and body["message"] == LIMIT_USER_MESSAGE
    assert body["tasks"] == []
    admin = client.get(f"/api/v1/process-instances/{body['id']}", headers=auth(world.admin))
    assert "运行时间超过上限（CPU 1 秒）" in admin.get_json()["error"]
    assert "计算" in admin.get_json()["error"]
    audited = db.session.scalars(
        select(AuditRecord).where(
            AuditRecord.action == "workflow.instance.error",
            AuditRecord.object_id == str(body["id"]),
        )
    ).all()
    assert len(audited) == 1


def test_task_data_bound_refuses_forms_and_stops_growing_scripts(client, auth, world, limits):
    _deploy(client, auth, world, "grow.bpmn", GROW)
    headers = auth(world.company)
    r = client.post(
        "/api/v1/process-instances",
        headers=headers,
        json={"model": "grow", "data": {"blob": "y" * (70 * 1024)}},
    )
    assert r.status_code == 422 and "流程数据超过上限" in r.get_json()["error"]["message"]
    r = client.post(
        "/api/v1/process-instances", headers=headers, json={"model": "grow", "data": {}}
    )
    inst = r.get_json()
    task_id = inst["tasks"][0]["id"]
    r = client.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=headers,
        json={"data": {"note": "x" * (70 * 1024)}},
    )
    assert r.status_code in (400, 422), r.get_json()
    assert "流程数据超过上限" in str(r.get_json()["error"])
    r = client.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=headers,
        json={"data": {"note": "x" * (4 * 1024)}},
    )  # 40 copies: 160 KB
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "error", body
    assert body["message"] == LIMIT_USER_MESSAGE
    admin = client.get(f"/api/v1/process-instances/{inst['id']}", headers=auth(world.admin))
    assert "流程数据超过上限" in admin.get_json()["error"]


def test_settings_configure_the_engine(app, monkeypatch):
    from app.workflow import limits

    assert app.config["CECP_SCRIPT_CPU_SECONDS"] == 2.0
    assert app.config["CECP_SCRIPT_MEMORY_MB"] == 256
    assert app.config["CECP_TASK_DATA_MAX_BYTES"] == 1024 * 1024
    old = (LIMITS.cpu_seconds, LIMITS.memory_mb, LIMITS.bounded, BOUND.max_bytes)
    monkeypatch.setitem(app.config, "CECP_SCRIPT_CPU_SECONDS", 0.5)
    monkeypatch.setitem(app.config, "CECP_SCRIPT_MEMORY_MB", 64)
    monkeypatch.setitem(app.config, "CECP_TASK_DATA_MAX_BYTES", 4096)
    try:
        limits.configure(app)
        assert (LIMITS.cpu_seconds, LIMITS.memory_mb, BOUND.max_bytes) == (0.5, 64, 4096)
    finally:
        LIMITS.cpu_seconds, LIMITS.memory_mb, LIMITS.bounded, BOUND.max_bytes = old
