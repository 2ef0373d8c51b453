"""The designer with its properties panel and the case diagram in a real browser: a Camunda
Modeler model imported, its lanes mapped to roles, validated (errors apart from warnings)
and deployed with its version history; a model without diagram information laid out; the
palette never over a shape; the case page shows the completed path and the current step.
Screenshots: test-artifacts/designer-*.png, case-diagram.png, task-diagram.png."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_journeys import AXE, AXE_RUN

MODELS = Path(__file__).resolve().parents[1] / "workflow_engine" / "models"

NO_DI = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="no_layout" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="填写"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""  # noqa: E501

PALETTE_OVERLAPS = """() => {
  const p = document.querySelector('#canvas .djs-palette').getBoundingClientRect();
  return [...document.querySelectorAll('#canvas .djs-shape')].map(s => {
    const r = s.getBoundingClientRect();
    const hit = r.left < p.right && r.right > p.left && r.top < p.bottom && r.bottom > p.top;
    return hit ? s.dataset.elementId : null;
  }).filter(Boolean);
}"""


def _login(page, live_url, email, password):
    page.goto(f"{live_url}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_selector("#logout")


def _axe(page, what):
    page.add_script_tag(path=str(AXE))
    # bpmn-js draws its own SVG canvas and palette; the page around it must pass
    violations = [v for v in page.evaluate(AXE_RUN)
                  if not all(n.startswith(("#canvas", "#case-diagram", ".djs")) or ".djs-" in n
                             for n in v["nodes"])]
    assert violations == [], f"{what}: {violations}"


def test_designer_properties_lanes_warnings_versions(page, live_url, demo_site):
    _login(page, live_url, "designer@demo.cecp", demo_site["password"])
    page.goto(f"{live_url}/designer")
    page.wait_for_selector("#properties .bio-properties-panel")  # the properties panel
    page.select_option("#model-select", value="enterprise_report")
    page.click("#btn-open")
    page.wait_for_selector("#canvas .djs-element[data-element-id='initial_review']")
    page.wait_for_selector("#version-list li[data-version]")
    assert page.evaluate(PALETTE_OVERLAPS) == []
    page.click("#canvas .djs-element[data-element-id='initial_review']")
    page.wait_for_selector("#properties [data-group-id='group-general']")
    if not page.is_visible("#bio-properties-panel-name"):  # groups start collapsed
        page.click("#properties [data-group-id='group-general'] .bio-properties-panel-group-header")
    page.wait_for_selector("#bio-properties-panel-name")
    assert page.input_value("#bio-properties-panel-name") == "初审"
    page.screenshot(path=str(ARTIFACTS / "designer-deployed.png"))

    page.set_input_files("#file-input", str(MODELS / "camunda_leave" / "leave_request.bpmn"))
    page.set_input_files("#extra-input", str(MODELS / "camunda_leave" / "handover.form"))
    page.wait_for_selector("#canvas .djs-element[data-element-id='Task_approve']")
    assert page.evaluate(PALETTE_OVERLAPS) == []
    lanes = page.locator("select.lane-role")
    assert lanes.count() == 2
    page.click("#btn-validate")
    page.wait_for_selector("#problem-list")
    problems = page.inner_text("#problem-list")
    assert "Employee" in problems and "Manager" in problems, problems
    assert "嵌入式 HTML" in page.inner_text("#warning-list")  # apart from the errors
    page.select_option("select.lane-role[data-lane='Employee']", value="enterprise")
    page.select_option("select.lane-role[data-lane='Manager']", value="reviewer")
    page.click("#btn-validate")
    page.wait_for_selector("#designer-messages .alert-success")
    assert page.locator("#warning-list li").count() == 1
    page.click("#btn-deploy")
    page.wait_for_selector("text=已部署：leave_request")
    page.wait_for_selector("#version-list li[data-version='1']")
    page.screenshot(path=str(ARTIFACTS / "designer-camunda-model.png"))
    _axe(page, "designer")

    no_di = Path(ARTIFACTS) / "no_layout.bpmn"
    no_di.write_text(NO_DI, encoding="utf-8")
    page.set_input_files("#file-input", str(no_di))
    page.wait_for_selector("#canvas .djs-element[data-element-id='fill']")
    assert "自动排版" in page.inner_text("#designer-messages")
    assert page.evaluate(PALETTE_OVERLAPS) == []
    page.screenshot(path=str(ARTIFACTS / "designer-auto-layout.png"))
    assert page.console_log.errors == []


def test_case_and_task_pages_show_the_path(page, live_url, demo_site, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.workflow.models import ProcessInstance, WorkTask

    with app.app_context():
        inst = db.session.scalar(select(ProcessInstance).where(
            ProcessInstance.process_key == "enterprise_report").limit(1))
        task = db.session.scalar(select(WorkTask).where(WorkTask.instance_id == inst.id))
        inst_id, task_id, task_name = inst.id, task.id, task.name
    _login(page, live_url, "enterprise@demo.cecp", demo_site["password"])
    page.goto(f"{live_url}/workflow/instances/{inst_id}")
    page.wait_for_selector("#case-diagram[data-ready=true]")
    assert page.locator("#case-diagram .path-done").count() >= 2  # start event and a flow
    current = page.locator("#case-diagram .path-current")
    assert current.count() == 1
    assert current.first.get_attribute("data-element-id") == task_name
    assert "当前步骤" in page.inner_text("#case-diagram-caption")
    page.screenshot(path=str(ARTIFACTS / "case-diagram.png"), full_page=True)
    _axe(page, "case")
    page.goto(f"{live_url}/workflow/tasks/{task_id}")
    page.wait_for_selector("#case-diagram[data-ready=true]")
    assert page.locator("#case-diagram .path-current").count() == 1
    page.screenshot(path=str(ARTIFACTS / "task-diagram.png"), full_page=True)
    assert page.console_log.errors == []
