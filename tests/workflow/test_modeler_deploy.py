"""Deploying models as modelers write them through the API: lane -> role mapping kept with
the version, every refusal reason listed (and audited), warnings apart, the pool of a
collaboration chosen, start forms validated at start, version history with what changed,
and the case diagram's path (scoped like the case)."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.workflow import deploy, service

MODELS = Path(__file__).resolve().parents[1] / "workflow_engine" / "models"


def files_of(name: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (MODELS / name).iterdir() if p.is_file()}


def post(client, url, headers, files, **fields):
    data = {"files": [(BytesIO(c), n) for n, c in files.items()], **fields}
    return client.post(url, data=data, headers=headers, content_type="multipart/form-data")


def test_lanes_unmapped_are_refused_with_the_list_then_mapped_and_kept(client, auth, world):
    headers = auth(world.designer)
    files = files_of("camunda_leave")
    r = post(client, "/api/v1/process-models", headers, files)
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["unmapped_lanes"] == ["Employee", "Manager"]
    assert {p["element_id"] for p in error["problems"]} == {"Lane_employee", "Lane_manager"}
    assert [w["element_id"] for w in error["warnings"]] == ["Task_approve"]  # apart
    refused = world.db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "workflow.model.deploy_refused")).all()
    assert len(refused) == 1 and "Manager" in refused[0].summary

    lanes = {"Employee": "enterprise", "Manager": "reviewer"}
    r = post(client, "/api/v1/process-models/validate", headers, files,
             lane_roles=json.dumps(lanes))
    assert r.status_code == 200 and r.get_json()["problems"] == []
    assert len(r.get_json()["warnings"]) == 1
    r = post(client, "/api/v1/process-models", headers, files, lane_roles=json.dumps(lanes))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["model"] == "leave_request" and body["lane_roles"] == lanes
    assert "嵌入式 HTML" in body["warnings"][0]["message"]
    # the same files with another mapping are another version; the mapping is kept with it
    other = {"Employee": "enterprise", "Manager": "approver"}
    r = post(client, "/api/v1/process-models", headers, files, lane_roles=json.dumps(other))
    assert r.status_code == 201 and r.get_json()["version"] == 2
    history = client.get("/api/v1/process-models/leave_request/versions",
                         headers=headers).get_json()
    assert [v["version"] for v in history["versions"]] == [2, 1]
    assert history["versions"][0]["lane_roles"] == other
    assert history["versions"][0]["changes"]["files"]["changed"] == ["cecp.deploy.json"]
    assert history["versions"][0]["changes"]["changed"] == []
    assert history["versions"][1]["lane_roles"] == lanes
    r = post(client, "/api/v1/process-models", headers, files, lane_roles="{not json")
    assert r.status_code == 422 and r.get_json()["error"]["fields"] == {"lane_roles": "格式错误"}


def test_start_form_is_validated_and_tasks_go_to_the_mapped_role(client, auth, world):
    deploy.deploy(files=files_of("camunda_leave"),
                  lane_roles={"Employee": "enterprise", "Manager": "reviewer"})
    world.db.session.commit()
    headers = auth(world.company)
    r = client.post("/api/v1/process-instances", headers=headers,
                    json={"model": "leave_request", "data": {"employee": "Wang", "days": 0}})
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"] == {"days": "不得小于 1"}
    r = client.post("/api/v1/process-instances", headers=headers,
                    json={"model": "leave_request", "data": {"employee": "Wang", "days": 3}})
    assert r.status_code == 201, r.get_json()
    inst_id = r.get_json()["id"]
    [task] = r.get_json()["tasks"]
    assert (task["name"], task["lane"]) == ("Task_plan", "enterprise")
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=headers).get_json()
    assert detail["form"]["ui"]["fields"]["open_items"]["widget"] == "rows"  # the .form file
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={
        "data": {"substitute": "Li", "urgency": "low", "open_items": [{"hours": 1}]}})
    assert r.status_code == 422 and "open_items.0.item" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={
        "data": {"substitute": "Li", "urgency": "low",
                 "open_items": [{"item": "budget", "hours": 1}]}})
    assert r.status_code == 200, r.get_json()
    [approve] = r.get_json()["tasks"]
    assert (approve["name"], approve["lane"]) == ("Task_approve", "reviewer")
    # the case diagram: completed path and current step, scoped like the case
    path = client.get(f"/api/v1/process-instances/{inst_id}/diagram", headers=headers)
    assert path.status_code == 200
    body = path.get_json()
    assert {"StartEvent_1", "Task_plan"} <= set(body["completed"])
    assert body["current"] == ["Task_approve"] and "<bpmn:definitions" in body["xml"]
    other = client.get(f"/api/v1/process-instances/{inst_id}/diagram",
                       headers=auth(world.company_b))
    assert other.status_code == 404


def test_collaboration_deploy_asks_for_the_pool_then_keeps_message_flows(client, auth, world):
    headers = auth(world.designer)
    files = files_of("collaboration")
    r = post(client, "/api/v1/process-models", headers, files)
    assert r.status_code == 422
    assert [p["id"] for p in r.get_json()["error"]["processes"]] == [
        "order_customer", "order_fulfilment"]
    r = post(client, "/api/v1/process-models", headers, files, process_id="order_customer")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["model"] == "order_customer"
    assert body["other_processes"] == [{"id": "order_fulfilment", "name": "发货"}]
    assert body["message_flows"][0]["id"] == "MessageFlow_order"
    row = deploy.latest_version(deploy.get_model(key_or_id="order_customer"))
    stored = json.loads(row.files)
    assert "messageFlow" in stored["order_fulfilment.bpmn"]
    assert json.loads(stored["cecp.deploy.json"]) == {"process_id": "order_customer"}
    loaded = deploy.loaded(row)  # reloads the chosen pool from the stored metadata
    assert loaded.bundle.process_id == "order_customer"
    inst = service.start(model="order_customer", data={}, user=world.company)
    assert [t.name for t in service.current_tasks(inst=inst)] == ["Task_place"]


def test_spiff_model_with_process_model_json_and_case_forms(client, auth, world):
    headers = auth(world.designer)
    files = files_of("spiff_expense")
    lanes = {"Requester": "enterprise", "Finance Team": "approver"}
    r = post(client, "/api/v1/process-models", headers, files, lane_roles=json.dumps(lanes))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["warnings"] == []
    model = deploy.get_model(key_or_id="expense_report")
    assert model.name == "Expense report"  # SpiffArena's display_name
    stored = json.loads(deploy.latest_version(model).files)
    assert {"Expense-Schema.json", "expense-uischema.json"} <= set(stored)
    assert "process_model.json" not in stored


def test_start_page_shows_the_start_form_and_task_page_the_rows(client, world):
    from tests.conftest import login

    deploy.deploy(files=files_of("camunda_leave"),
                  lane_roles={"Employee": "enterprise", "Manager": "reviewer"})
    world.db.session.commit()
    login(client, world.company)
    html = client.get("/workflow/start?model=leave_request").get_data(as_text=True)
    assert 'id="start-event-form"' in html and 'name="days"' in html
    r = client.post("/workflow/start", data={"model": "leave_request", "employee": "Wang",
                                             "days": "0"})
    assert r.status_code == 200 and "不得小于 1" in r.get_data(as_text=True)
    r = client.post("/workflow/start", data={"model": "leave_request", "employee": "Wang",
                                             "days": "2"})
    assert r.status_code == 302
    inst_id = int(r.headers["Location"].rsplit("/", 1)[-1])
    [task] = service.current_tasks(inst=service.get_instance(instance_id=inst_id,
                                                             user=world.company))
    html = client.get(f"/workflow/tasks/{task.id}").get_data(as_text=True)
    assert 'class="table table-sm align-middle mb-1 form-rows"' in html
    assert 'name="open_items.0.item"' in html and 'id="case-diagram"' in html
    r = client.post(f"/workflow/tasks/{task.id}", data={
        "action": "complete", "substitute": "Li", "urgency": "high",
        "open_items.0.item": "budget", "open_items.0.hours": "3",
        "open_items.1.item": "", "open_items.1.hours": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    data = service.task_data(service.get_instance(instance_id=inst_id, user=world.company))
    assert data["open_items"] == [{"item": "budget", "hours": 3}]


def test_a_model_with_many_problems_gets_every_reason_at_once(client, auth, world):
    """One Camunda model with ten different problems (and a broken form file beside it):
    the refusal lists all of them, each naming its element, and the audit keeps them."""
    headers = auth(world.designer)
    files = files_of("refused_many")
    files["notes.bpmn"] = b"<bpmn:definitions"  # an unparsable second file
    for url in ("/api/v1/process-models/validate", "/api/v1/process-models"):
        r = post(client, url, headers, files)
        body = r.get_json()
        error = body.get("error", body)
        problems = error["problems"]
        by_element: dict = {}
        for p in problems:
            by_element.setdefault(p["element_id"], []).append(p["message"])
        expected = {
            "Lane_manager": "Manager",                      # lane not mapped to a role
            "Task_request": "Form_missing",                 # Camunda form not uploaded
            "Task_calc": "com.example.BudgetDelegate",      # Java delegate, not external
            "Task_rules": "approval_level",                 # DMN decision missing
            "Task_sign": "语法错误",                         # collection expression broken
            "Task_notify": "不安全",                         # collection expression unsafe
            "Task_score": "import",                         # script not allowed
            "Gateway_amount": "没有默认流",                   # gateway without conditions
            "Event_remind": "LW",                           # cron the platform cannot run
        }
        for element, words in expected.items():
            assert any(words in m for m in by_element.get(element, [])), (element, problems)
        files_hit = {p["file"] for p in problems}
        assert {"notes.bpmn", "broken_form.form"} <= files_hit, problems
        assert error["unmapped_lanes"] == ["Manager"]
        if url.endswith("/validate"):
            assert r.status_code == 200
        else:
            assert r.status_code == 422
    refused = world.db.session.scalars(select(AuditRecord).where(
        AuditRecord.action == "workflow.model.deploy_refused")).all()
    assert len(refused) == 1
    assert all(words in refused[0].summary for words in ("Manager", "approval_level", "LW"))
