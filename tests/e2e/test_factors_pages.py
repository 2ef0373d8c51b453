"""Electricity-carbon factor pages in a real browser: the enterprise scatter with its fitted
lines and the regional flow map draw with no JavaScript errors."""

from __future__ import annotations

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_monitoring_pages import _login


def test_factor_pages_draw(page, live_url, demo_site, app):
    from app.demo import demo_enterprise_uscc
    from app.extensions import db
    from app.factors.models import RegionalNetwork

    with app.app_context():
        net_id = db.session.query(RegionalNetwork.id).scalar()
    _login(page, live_url, demo_site, app)
    page.goto(f"{live_url}/factors/enterprises/{demo_enterprise_uscc()}")
    page.wait_for_selector("#chart-scatter canvas", timeout=15000)
    assert "tCO2/MWh" in page.inner_text("#current-factor")
    points = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-scatter'))"
                           ".getOption().series[0].data.length")
    assert points >= 12
    assert page.locator("#btn-recompute").count() == 1  # the reviewer maintains factors
    page.screenshot(path=str(ARTIFACTS / "factors-enterprise.png"), full_page=True)
    page.goto(f"{live_url}/factors/regional/{net_id}")
    page.wait_for_selector("#flow-map canvas", timeout=15000)
    assert "非官方" in page.inner_text("#demo-label")
    assert page.locator("#nodal tbody tr").count() == 31
    page.screenshot(path=str(ARTIFACTS / "factors-flow-map.png"), full_page=True)
    assert page.console_log.errors == []
