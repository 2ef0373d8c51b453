"""The bpmn-js designer in a real browser: open a deployed model, validate it, see problems."""

from __future__ import annotations

from tests.e2e.conftest import ARTIFACTS


def _login_designer(page, live_url, demo_site):
    page.goto(f"{live_url}/auth/login")
    page.fill("#email", "designer@demo.cecp")
    page.fill("#password", demo_site["password"])
    page.click("#submit")
    page.wait_for_url(f"{live_url}/")


def test_designer_opens_validates_and_reports_problems(page, live_url, demo_site, tmp_path):
    _login_designer(page, live_url, demo_site)
    page.goto(f"{live_url}/designer")
    page.wait_for_selector("#canvas .djs-container")
    page.select_option("#model-select", value="enterprise_report")
    page.click("#btn-open")
    page.wait_for_selector("#canvas .djs-element[data-element-id='initial_review']")
    page.click("#btn-validate")
    page.wait_for_selector("#designer-messages .alert-success")
    assert "校验通过" in page.inner_text("#designer-messages")
    page.screenshot(path=str(ARTIFACTS / "designer.png"))
    # a model from elsewhere whose lane names no role of the platform: the problems are listed
    broken = tmp_path / "broken.bpmn"
    broken.write_text(BROKEN, encoding="utf-8")
    page.set_input_files("#file-input", str(broken))
    page.wait_for_selector("#canvas .djs-element[data-element-id='approve_it']")
    page.click("#btn-validate")
    page.wait_for_selector("#problem-list")
    problems = page.inner_text("#problem-list")
    assert "approve_it" in problems or "lane_x" in problems, problems
    assert "nobody" in problems, problems
    assert page.console_log.errors == []


BROKEN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="http://x">
  <bpmn:collaboration id="collab">
    <bpmn:participant id="p" processRef="broken" /></bpmn:collaboration>
  <bpmn:process id="broken" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane_x" name="nobody">
      <bpmn:flowNodeRef>approve_it</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="approve_it" name="审批"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve_it" />
    <bpmn:sequenceFlow id="f2" sourceRef="approve_it" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="pl" bpmnElement="collab">
    <bpmndi:BPMNShape id="p_di" bpmnElement="p" isHorizontal="true">
      <dc:Bounds x="100" y="50" width="500" height="200" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="lane_di" bpmnElement="lane_x" isHorizontal="true">
      <dc:Bounds x="130" y="50" width="470" height="200" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="start_di" bpmnElement="start">
      <dc:Bounds x="170" y="132" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="task_di" bpmnElement="approve_it">
      <dc:Bounds x="260" y="110" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="end_di" bpmnElement="end">
      <dc:Bounds x="420" y="132" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="206" y="150" />
      <di:waypoint x="260" y="150" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="360" y="150" />
      <di:waypoint x="420" y="150" /></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
