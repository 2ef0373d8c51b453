# ruff: noqa: E501  (inline BPMN documents)
"""REST: process models (deploy, validation problems), instances and tasks; scope and forms."""

from __future__ import annotations

from io import BytesIO

from app.workflow import deploy

from .conftest import YEAR

BROKEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
 <bpmn:process id="broken" isExecutable="true">
  <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="nobody"><bpmn:flowNodeRef>t1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
  <bpmn:startEvent id="s"/>
  <bpmn:userTask id="t1" name="Fill"><bpmn:extensionElements><spiffworkflow:properties>
   <spiffworkflow:property name="formJsonSchemaFilename" value="no_such_form.json"/>
  </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
  <bpmn:serviceTask id="svc" name="Call"><bpmn:extensionElements>
   <spiffworkflow:serviceTaskOperator id="no.such.service"/></bpmn:extensionElements></bpmn:serviceTask>
  <bpmn:exclusiveGateway id="gw"/>
  <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>
  <bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="svc"/>
  <bpmn:sequenceFlow id="f3" sourceRef="svc" targetRef="gw"/>
  <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="e1"/>
  <bpmn:sequenceFlow id="f5" sourceRef="gw" targetRef="e2"/>
 </bpmn:process>
</bpmn:definitions>"""


def _files(files: dict[str, bytes]) -> dict:
    return {"files": [(BytesIO(content), name) for name, content in files.items()]}


def test_deploy_needs_permission_and_is_idempotent(client, auth, world):
    files = deploy.builtin_files("camunda_sample")
    r = client.post("/api/v1/process-models", data=_files(files),
                    headers=auth(world.reviewer), content_type="multipart/form-data")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    headers = auth(world.designer)
    r = client.post("/api/v1/process-models", data=_files(files), headers=headers,
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["created"] is False and r.get_json()["version"] == 1  # deployed already
    models = client.get("/api/v1/process-models", headers=headers).get_json()
    assert {m["key"] for m in models} == set(deploy.builtin_names())  # folder = process id


def test_designer_validation_of_a_broken_model(client, auth, world):
    headers = auth(world.designer)
    r = client.post("/api/v1/process-models", data=_files({"broken.bpmn": BROKEN}),
                    headers=headers, content_type="multipart/form-data")
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "model_invalid"
    found = {(p["file"], p["element_id"]) for p in error["problems"]}
    assert {("broken.bpmn", "l1"), ("broken.bpmn", "t1"), ("broken.bpmn", "svc"),
            ("broken.bpmn", "gw")} <= found
    assert all(p["message"] for p in error["problems"])
    r = client.post("/api/v1/process-models/validate", data=_files({"broken.bpmn": BROKEN}),
                    headers=headers, content_type="multipart/form-data")
    assert r.status_code == 200 and len(r.get_json()["problems"]) >= 4
    r = client.post("/api/v1/process-models", data=_files({"x.bpmn": b"<not xml"}),
                    headers=headers, content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["error"]["problems"][0]["file"] == "x.bpmn"


def test_report_through_the_api_with_scope_and_form_errors(client, auth, world):
    company, reviewer = auth(world.company), auth(world.reviewer)
    approver, reviewer_b = auth(world.approver), auth(world.reviewer_b)
    r = client.post("/api/v1/process-instances",
                    json={"model": "enterprise_report", "data": {"year": YEAR}}, headers=company)
    assert r.status_code == 201, r.get_json()
    inst = r.get_json()
    assert inst["status"] == "running" and inst["tasks"][0]["name"] == "submit_report"
    r = client.post("/api/v1/process-instances", headers=company, json={
        "model": "enterprise_report", "data": {"enterprise_uscc": world.ent_b.uscc}})
    assert r.status_code == 403  # another enterprise's report
    task_id = inst["tasks"][0]["id"]
    r = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}}, headers=company)
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"] == {"confirm": "必填"}
    r = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"confirm": True}},
                    headers=company)
    assert r.status_code == 200, r.get_json()
    [review] = client.get("/api/v1/tasks", headers=reviewer).get_json()
    assert review["name"] == "initial_review" and review["due_at"]
    assert client.get("/api/v1/tasks", headers=reviewer_b).get_json() == []
    assert client.get(f"/api/v1/tasks/{review['id']}", headers=reviewer_b).status_code == 404
    assert client.get(f"/api/v1/process-instances/{inst['id']}",
                      headers=reviewer_b).status_code == 404
    r = client.post(f"/api/v1/tasks/{review['id']}/complete",
                    json={"data": {"decision": "approve"}}, headers=company)
    assert r.status_code == 403 and "reviewer" in r.get_json()["error"]["message"]
    r = client.post(f"/api/v1/tasks/{review['id']}/complete",
                    json={"data": {"decision": "maybe", "extra": 1}}, headers=reviewer)
    assert r.status_code == 422
    fields = r.get_json()["error"]["fields"]
    assert fields["decision"].startswith("取值必须是以下之一") and fields["extra"] == "不允许的字段"
    detail = client.get(f"/api/v1/tasks/{review['id']}", headers=reviewer).get_json()
    assert detail["form"]["ui"]["fields"]["decision"]["label"] == "审核结论" and detail["can_work"]
    assert client.post(f"/api/v1/tasks/{review['id']}/claim", headers=reviewer).status_code == 200
    assert client.get("/api/v1/tasks?mine=true", headers=reviewer).get_json()[0]["assignee_id"]
    r = client.post(f"/api/v1/tasks/{review['id']}/return", json={"comment": "请补充说明"},
                    headers=reviewer)
    assert r.status_code == 200
    [again] = client.get("/api/v1/tasks", headers=company).get_json()
    client.post(f"/api/v1/tasks/{again['id']}/complete", json={"data": {"confirm": True}},
                headers=company)
    [review] = client.get("/api/v1/tasks", headers=reviewer).get_json()
    client.post(f"/api/v1/tasks/{review['id']}/complete",
                json={"data": {"decision": "approve"}}, headers=reviewer)
    [final] = client.get("/api/v1/tasks", headers=approver).get_json()
    r = client.post(f"/api/v1/tasks/{final['id']}/complete",
                    json={"data": {"decision": "approve", "comment": "同意发布"}},
                    headers=approver)
    assert r.status_code == 200 and r.get_json()["status"] == "completed"
    r = client.post(f"/api/v1/tasks/{final['id']}/complete",
                    json={"data": {"decision": "approve"}}, headers=approver)
    assert r.status_code == 409
    body = client.get(f"/api/v1/process-instances/{inst['id']}", headers=company).get_json()
    assert [h["action"] for h in body["history"]] == [
        "start", "complete", "claim", "return", "complete", "complete", "complete"]
    assert body["history"][-1]["data"] == {"decision": "approve", "comment": "同意发布"}
