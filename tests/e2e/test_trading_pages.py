"""Issue 18 in a real browser: the government monitoring view and the owner's project page
draw their ECharts chart from the same rows as the table, with no console error (CSP)."""

from __future__ import annotations

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_journeys import _login


def test_monitoring_pages_draw_charts(page, live_url, demo_site, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.trading import monitoring
    from app.trading.models import Project

    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.code == "HZPV01"))
        monitoring.seed_demo_monitoring(project=project, year=2025)
        db.session.commit()
        db.session.remove()
    _login(page, live_url, demo_site["email"], demo_site["password"], app,
           demo_site["user_id"])
    page.goto(f"{live_url}/trading/monitoring?start=2025-01&end=2025-12")
    page.wait_for_selector("#trading-chart canvas")
    assert page.locator("#totals tbody tr").count() == 12
    assert "湖州示范水泥厂区屋顶分布式光伏" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "trading-monitoring.png"), full_page=True)
    page.goto(f"{live_url}/trading/projects/HZPV01?start=2025-01&end=2025-12")
    page.wait_for_selector("#trading-chart canvas")
    first = page.inner_text("#monitoring tbody tr:first-child")
    assert "2025-01" in first and "0.1000" in first  # capacity factor of the demo profile
    page.screenshot(path=str(ARTIFACTS / "trading-project.png"), full_page=True)
    assert page.console_log.errors == []
