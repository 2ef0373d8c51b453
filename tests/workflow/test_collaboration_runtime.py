"""Collaborations with several executable pools at run time: a message thrown in one pool
(send task, intermediate throw event, message end event) starts the other pool's process
(message start event) or resumes it (intermediate catch), payload carried, routed to the
right case by BPMN correlation keys (SpiffArena) or by the conversation (Camunda models
carry no keys). The deploy says which process starts and deploys its partners with it."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.uow import commit
from app.workflow import engine, persistence, service
from app.workflow.errors import NotFound
from app.workflow.messaging.flows import correlated
from app.workflow.models import ProcessInstance

MODELS = Path(__file__).resolve().parents[1] / "workflow_engine" / "models"


def files_of(name: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (MODELS / name).iterdir() if p.is_file()}


def post(client, headers, files, **fields):
    data = {"files": [(BytesIO(c), n) for n, c in files.items()], **fields}
    return client.post("/api/v1/process-models", data=data, headers=headers,
                       content_type="multipart/form-data")


def instances_of(db, key: str) -> list[ProcessInstance]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProcessInstance).where(
        ProcessInstance.process_key == key).order_by(ProcessInstance.id)))


def test_camunda_collaboration_send_task_starts_the_partner_and_the_reply_comes_back(
        client, auth, world):
    headers = auth(world.designer)
    files = files_of("collaboration_camunda")
    asked = post(client, headers, files)
    assert asked.status_code == 422  # two executable pools: the deploy asks which starts
    assert [p["id"] for p in asked.get_json()["error"]["processes"]] == [
        "permit_apply", "permit_handle"]
    r = post(client, headers, files, process_id="permit_apply")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["model"] == "permit_apply"
    assert [(p["id"], p["model"], p["created"]) for p in body["partners"]] == [
        ("permit_handle", "permit_handle", True)]
    assert {f["id"] for f in body["message_flows"]} == {"Flow_msg_apply", "Flow_msg_result"}

    first = service.start(model="permit_apply", data={"project": "余热发电", "amount": 1200},
                          user=world.company)
    second = service.start(model="permit_apply", data={"project": "屋顶光伏", "amount": 300},
                           user=world.company)
    commit()
    for inst in (first, second):  # the send task throws; the outbox routes it after commit
        world.do(inst, "Task_fill", world.company, {"decision": "approve", "comment": "已填写"})
    handles = instances_of(world.db, "permit_handle")
    assert len(handles) == 2  # one partner case per application (message start event)
    by_project = {service.task_data(h)["project"]: h for h in handles}
    assert set(by_project) == {"余热发电", "屋顶光伏"}  # the payload: the sender's data
    solar = by_project["屋顶光伏"]
    assert solar.enterprise_uscc == world.ent.uscc and solar.initiator_id == world.company.id
    assert [h.action for h in service.history(inst=solar)][:2] == ["start", "message"]
    for inst in (first, second):  # both wait at the intermediate catch
        assert service.current_tasks(inst=world.db.session.get(ProcessInstance, inst.id)) == []
    review = world.only_task(solar)
    assert (review.name, review.lane) == ("Task_review", "reviewer")

    # the second application's partner answers first: only the second case resumes
    world.do(solar, "Task_review", world.reviewer, {"decision": "approve", "comment": "同意"})
    world.db.session.expire_all()
    assert service.current_tasks(inst=world.db.session.get(ProcessInstance, first.id)) == []
    task = world.only_task(world.db.session.get(ProcessInstance, second.id))
    assert task.name == "Task_result"
    data = service.task_data(second, task.id)  # the end event's input parameters
    assert (data["result"], data["opinion"], data["handled_by"]) == ("approve", "同意", "主管部门")
    assert (data["decision"], data["project"]) == ("approve", "屋顶光伏")  # its own data kept
    assert world.db.session.get(ProcessInstance, solar.id).status == "completed"

    heat = by_project["余热发电"]
    world.do(heat, "Task_review", world.reviewer, {"decision": "return", "comment": "材料不全"})
    task = world.only_task(world.db.session.get(ProcessInstance, first.id))
    data = service.task_data(first, task.id)
    assert (data["result"], data["opinion"], data["project"]) == ("return", "材料不全", "余热发电")
    assert data["comment"] == "已填写"  # only the parameters came back, not the partner's data
    audits = world.db.session.scalars(select(AuditRecord.summary).where(
        AuditRecord.action == "workflow.message.deliver")).all()
    assert sum('"started"' in a for a in audits) == 2 and sum('"resumed"' in a for a in audits) == 2


def test_spiff_collaboration_correlation_keys_route_the_reply(client, auth, world):
    headers = auth(world.designer)
    r = post(client, headers, files_of("collaboration_spiff"))  # primary_process_id picks
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["model"] == "order_buyer"
    assert [p["id"] for p in r.get_json()["partners"]] == ["order_seller"]

    buyers = {}
    for order_id, item in ((101, "水泥"), (202, "钢材")):
        buyers[order_id] = service.start(
            model="order_buyer", data={"order_id": order_id, "item": item, "quantity": 5},
            user=world.company)
        commit()  # the throw event fires at start; the seller starts after the commit
    sellers = {service.task_data(s)["order"]["order_id"]: s
               for s in instances_of(world.db, "order_seller")}
    assert set(sellers) == {101, 202}
    assert service.task_data(sellers[202])["order"] == {"order_id": 202, "item": "钢材",
                                                        "quantity": 5}
    opened = persistence.open_instance(sellers[202])
    assert opened.wf.correlations["order_key"] == {"order_id": 202}

    world.do(sellers[202], "Task_ship", world.company, {"decision": "approve",
                                                        "comment": "SF-202"})
    world.db.session.expire_all()
    b101 = world.db.session.get(ProcessInstance, buyers[101].id)
    b202 = world.db.session.get(ProcessInstance, buyers[202].id)
    assert service.current_tasks(inst=b101) == []
    task = world.only_task(b202)
    assert task.name == "Task_receive"
    assert service.task_data(b202, task.id)["shipment"] == {"order_id": 202, "tracking": "SF-202"}
    world.do(sellers[101], "Task_ship", world.company, {"decision": "approve",
                                                        "comment": "SF-101"})
    b101 = world.db.session.get(ProcessInstance, buyers[101].id)
    task = world.only_task(b101)
    assert service.task_data(b101, task.id)["shipment"]["tracking"] == "SF-101"


def test_correlation_keys_take_precedence_over_the_conversation(world):
    """A receiver that knows the key takes only a message with the same key value, even in
    its own conversation; without keys the conversation decides."""
    bundle = engine.load_model(files_of("collaboration_spiff"), process_id="order_buyer")
    wf = engine.new_workflow(bundle, {"order_id": 7, "item": "x", "quantity": 1})
    assert wf.correlations["order_key"] == {"order_id": 7}
    same = engine.Message("order_shipped", {}, {"order_key": {"order_id": 7}})
    other = engine.Message("order_shipped", {}, {"order_key": {"order_id": 8}})
    assert correlated(wf, 5, same, conversation=99)
    assert not correlated(wf, 5, other, conversation=5)
    plain = engine.Message("order_shipped", {}, {})
    assert correlated(wf, 5, plain, conversation=5) and not correlated(wf, 5, plain, 6)


def test_a_message_of_another_enterprise_never_crosses(client, auth, world):
    """Routing stays within the sender's enterprise: company B's application starts its own
    partner case, never one visible to enterprise A."""
    post(client, auth(world.designer), files_of("collaboration_camunda"),
         process_id="permit_apply")
    inst = service.start(model="permit_apply", data={"project": "B 项目"}, user=world.company_b)
    commit()
    world.do(inst, "Task_fill", world.company_b, {"decision": "approve"})
    [handle] = instances_of(world.db, "permit_handle")
    assert handle.enterprise_uscc == world.ent_b.uscc
    assert service.current_tasks(inst=handle)[0].name == "Task_review"
    with pytest.raises(NotFound):
        service.get_instance(instance_id=handle.id, user=world.company)
    assert service.get_instance(instance_id=handle.id, user=world.company_b).id == handle.id
