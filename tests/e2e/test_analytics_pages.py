"""R-10.3 in a real browser: the demo reviewer's forecast (chart drawn, method named), the
anomaly list, the potential ranking and a planner scenario computed through the form."""

from __future__ import annotations

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_monitoring_pages import _login


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"analytics-{name}.png"), full_page=True)


def test_reviewer_forecast_anomalies_potential_and_plan(page, live_url, demo_site, app):
    from app.demo import demo_enterprise_uscc

    _login(page, live_url, demo_site, app)
    page.goto(f"{live_url}/analytics/forecast?level=region&code=330500&measure=co2")
    page.wait_for_selector("#forecast-chart canvas", timeout=15000)
    assert page.locator("#forecast-method").inner_text()
    assert page.locator("table >> text=下限").count() == 1
    _shot(page, "forecast")
    page.goto(f"{live_url}/analytics/anomalies")
    assert page.locator("h1").inner_text().startswith("异常识别")
    _shot(page, "anomalies")
    page.goto(f"{live_url}/analytics/potential")
    assert page.locator("#potential").count() == 1
    _shot(page, "potential")
    with app.app_context():
        uscc = demo_enterprise_uscc()
    page.goto(f"{live_url}/analytics/plan/{uscc}")
    page.check("input[name=use_efficiency]")
    page.fill("#efficiency_pct", "10")
    page.click("button[name=evaluate]")
    page.wait_for_selector("#scenario-result")
    assert "减排量" in page.locator("#scenario-result").inner_text()
    _shot(page, "plan")
    assert page.console_log.errors == []
