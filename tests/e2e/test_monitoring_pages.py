"""R-6.1 in a real browser: public pages without login, the demo reviewer's views after
password + TOTP login, charts drawn with no JavaScript errors, filters, exports = API."""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import ARTIFACTS


def _canvases(page) -> int:
    page.wait_for_function("window.cecpCharts !== undefined", timeout=15000)
    return page.locator(".chart canvas").count()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"monitoring-{name}.png"), full_page=True)


def _login(page, live_url, demo_site, app):
    from app.extensions import db
    from app.identity.models import User
    from tests.conftest import totp_now

    page.goto(f"{live_url}/auth/login")
    page.fill("input[name=email]", demo_site["email"])
    page.fill("input[name=password]", demo_site["password"])
    page.press("input[name=password]", "Enter")
    page.wait_for_selector("input[name=code]")
    with app.app_context():
        code = totp_now(db.session.get(User, demo_site["user_id"]))
    page.fill("input[name=code]", code)
    page.press("input[name=code]", "Enter")
    page.wait_for_selector("#logout")


def test_public_pages_work_without_login(page, live_url, demo_site):
    page.goto(f"{live_url}/countries?countries=CHN,USA,IND&from=1990&to=2020")
    assert _canvases(page) == 3
    assert "数据截至" in page.inner_text("#freshness")
    _shot(page, "countries")
    page.goto(f"{live_url}/public-institutions")
    assert _canvases(page) >= 1
    page.locator(".toggle-table[data-target=institutions]").click()
    body = page.inner_text("main")
    assert "湖州市示范中学" in body and "长兴县图书馆" not in body  # unpublished stays hidden
    _shot(page, "public-institutions")
    assert page.console_log.errors == []


@pytest.mark.parametrize("path,name,charts", [
    ("/monitoring/region", "region", 5), ("/monitoring/industry", "industry", 5),
    ("/monitoring/enterprises", "enterprises", 1)])
def test_reviewer_views_render(page, live_url, demo_site, app, path, name, charts):
    _login(page, live_url, demo_site, app)
    page.goto(live_url + path)
    assert _canvases(page) >= charts
    assert page.inner_text("#freshness").startswith("数据截至")
    for axis in ("万吨 CO2",):
        assert axis in page.content()
    _shot(page, name)
    assert page.console_log.errors == []


def test_filters_change_figures_and_stay_in_url(page, live_url, demo_site, app):
    _login(page, live_url, demo_site, app)
    page.goto(f"{live_url}/monitoring/region")
    _canvases(page)
    month_value = page.inner_text("#kpi-value")
    with page.expect_navigation():
        page.select_option("#f-grain", "year")
    assert "grain=year" in page.url
    _canvases(page)
    assert page.inner_text("#kpi-value") != month_value
    with page.expect_navigation():
        page.select_option("#f-energy", "electricity")
    assert "energy=electricity" in page.url and "grain=year" in page.url
    _shot(page, "region-filtered")
    assert page.console_log.errors == []


def test_export_downloads_the_api_numbers(page, live_url, demo_site, app):
    _login(page, live_url, demo_site, app)
    page.goto(f"{live_url}/monitoring/region?grain=year")
    _canvases(page)
    card = page.locator(".dataset[data-dataset=ranking]")
    with page.expect_download() as info:
        card.locator("a.export-csv").click()
    text = open(info.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    api = page.request.get(f"{live_url}/api/v1/monitoring/region?grain=year").json()
    ranking = next(d for d in api["datasets"] if d["id"] == "ranking")
    assert rows[0] == [c["heading"] for c in ranking["columns"]]
    assert len(rows) - 1 == len(ranking["rows"]) > 0
    for got, want in zip(rows[1:], ranking["rows"], strict=True):
        assert got[0] == want[0] and float(got[2]) == want[2]
    with page.expect_download() as info:
        card.locator("a.export-xlsx").click()
    from openpyxl import load_workbook

    assert info.value.suggested_filename.endswith(".xlsx")
    target = ARTIFACTS / info.value.suggested_filename
    info.value.save_as(target)
    ws = load_workbook(target).active
    assert [r[2].value for r in ws.iter_rows(min_row=2)] == [r[2] for r in ranking["rows"]]
    page.locator(".toggle-table[data-target=ranking]").click()
    assert page.locator("#table-ranking").is_visible()
    _shot(page, "region-table")
