# ruff: noqa: E501  (inline BPMN documents)
"""A model made in Camunda Modeler (inline forms, DMN, parallel gateway) deploys and runs
with persistence; a message from one instance returns to the case that waits for it."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from app.uow import commit
from app.workflow import deploy, service

MODEL_VERIFY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d1" targetNamespace="t">
 <bpmn:message id="m" name="verification_result"/>
 <bpmn:process id="verification" name="核查" isExecutable="true">
  <bpmn:laneSet id="ls"><bpmn:lane id="l" name="verifier"><bpmn:flowNodeRef>verify</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
  <bpmn:startEvent id="s"/>
  <bpmn:userTask id="verify" name="现场核查"/>
  <bpmn:endEvent id="e"><bpmn:messageEventDefinition id="md" messageRef="m"><bpmn:extensionElements>
   <spiffworkflow:messagePayload>{"case_id": case_id, "verdict": decision}</spiffworkflow:messagePayload>
  </bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="verify"/>
  <bpmn:sequenceFlow id="f2" sourceRef="verify" targetRef="e"/>
 </bpmn:process>
</bpmn:definitions>"""

MODEL_WAIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d2" targetNamespace="t">
 <bpmn:message id="m" name="verification_result"/>
 <bpmn:process id="submission" name="申报" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:intermediateCatchEvent id="wait" name="等待核查结果"><bpmn:messageEventDefinition id="md" messageRef="m"/></bpmn:intermediateCatchEvent>
  <bpmn:userTask id="confirm" name="确认核查结果"/>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
  <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="confirm"/>
  <bpmn:sequenceFlow id="f3" sourceRef="confirm" targetRef="e"/>
 </bpmn:process>
</bpmn:definitions>"""


def test_camunda_sample_runs_both_paths(world, make_user):
    verifier = make_user("verifier", region="330000")
    inst = service.start(model="camunda_sample", data={}, user=world.company)
    commit()
    assert inst.enterprise_uscc == world.ent.uscc  # the enterprise user's only enterprise
    fill = world.only_task(inst)
    assert (fill.name, fill.form_kind, fill.lane) == ("fill_application", "inline", "enterprise")
    form = service.task_form(fill)
    posted = MultiDict({"project_name": "余热发电", "investment": "1200",
                        "expected_saving": "6000", "category": "energy_saving", "agree": "on"})
    inst = service.complete(task_id=fill.id, user=world.company, data={}, posted=posted)
    commit()
    assert form["ui"]["fields"]["investment"]["label"] == "总投资（万元）"
    names = sorted(t.name for t in service.current_tasks(inst=inst))
    assert names == ["finance_review", "technical_review"]
    inst = world.do(inst, "technical_review", verifier,
                    {"tech_opinion": "数据可信", "tech_pass": True})
    inst = world.do(inst, "finance_review", world.reviewer, {"finance_opinion": "投资合理"})
    assert inst.status == "completed"
    data = service.task_data(inst)
    assert data["level"] == "A" and data["archived_at"] and data["tech_opinion"] == "数据可信"

    small = service.start(model="camunda_sample", data={}, user=world.company)
    commit()
    small = world.do(small, "fill_application", world.company, {
        "project_name": "照明改造", "investment": 10, "expected_saving": 100,
        "category": "other", "agree": True})
    review = world.only_task(small)
    assert (review.name, review.form_kind) == ("simple_review", "generic")
    small = world.do(small, "simple_review", world.reviewer, {"decision": "approve"})
    assert small.status == "completed"


def test_message_returns_to_the_waiting_case(world, make_user):
    verifier = make_user("verifier", region="330000")
    for name, content in (("verification.bpmn", MODEL_VERIFY), ("submission.bpmn", MODEL_WAIT)):
        deploy.deploy(files={name: content.encode()}, user=world.designer)
    waiting = service.start(model="submission", data={}, user=world.company)
    commit()
    assert service.current_tasks(inst=waiting) == []
    check = service.start(model="verification", data={"case_id": waiting.id},
                          user=world.company)
    commit()
    world.do(check, "verify", verifier, {"decision": "approve", "comment": "核查通过"})
    # the outbox job ran after the commit (embedded mode) and stepped the waiting case
    task = world.only_task(waiting)
    assert task.name == "confirm" and task.lane is None
    assert service.task_data(waiting, task.id)["verdict"] == "approve"
    assert "message" in [h.action for h in service.history(inst=waiting)]
    world.do(waiting, "confirm", world.company, {"decision": "approve"})
