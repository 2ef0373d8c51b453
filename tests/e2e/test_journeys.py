"""Each role's main journey in a real browser (Debian chromium): every page in the
platform's layout, in Chinese, with no JavaScript error and no serious or critical
accessibility violation (axe-core, served from app/static/vendor, injected by the test);
a full-page screenshot of every page is saved under test-artifacts/journey-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS

AXE = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "axe-core" / "axe.min.js"
AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


def _check(page, role: str, name: str) -> None:
    """Layout, language, screenshot, axe; raises with every problem of the page."""
    page.wait_for_load_state("networkidle")
    if page.locator(".chart").count():
        page.wait_for_function("window.cecpCharts !== undefined", timeout=15000)
    page.screenshot(path=str(ARTIFACTS / f"journey-{role}-{name}.png"), full_page=True)
    assert page.locator("header.cecp-header").count() == 1, f"{name}: not in the layout"
    assert page.get_attribute("html", "lang") == "zh-CN"
    if not AXE.exists():
        from tests.conftest import CI

        (pytest.fail if CI else pytest.skip)(f"axe-core not installed at {AXE} (npm ci)")
    # from the platform's own static files: the Content-Security-Policy refuses an inline copy
    origin = "/".join(page.url.split("/")[:3])
    page.add_script_tag(url=f"{origin}/static/vendor/axe-core/axe.min.js")
    violations = page.evaluate(AXE_RUN)
    assert violations == [], f"{role}/{name}: {violations}"


def _login(page, live_url, email: str, password: str, app=None, user_id=None) -> None:
    page.goto(f"{live_url}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()
    if user_id is not None:
        from app.extensions import db
        from app.identity.models import User
        from tests.conftest import totp_now

        page.wait_for_selector("input[name=code]")
        with app.app_context():
            code = totp_now(db.session.get(User, user_id))
        page.fill("input[name=code]", code)
        page.press("input[name=code]", "Enter")
    page.wait_for_selector("#logout")


def test_public_journey(page, live_url, demo_site):
    page.goto(f"{live_url}/")
    _check(page, "public", "home")
    page.goto(f"{live_url}/auth/login")
    assert page.locator(".cecp-auth .card").count() == 1
    assert page.locator(".alert").count() == 0 and "菜单" not in page.inner_text("main")
    _check(page, "public", "login")
    page.fill("input[name=email]", "nobody@demo.cecp")
    page.fill("input[name=password]", "wrong-password-1")
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()
    assert page.locator(".fs-error-msg, .alert-danger").count() >= 1
    _check(page, "public", "login-error")
    page.goto(f"{live_url}/public-institutions")
    _check(page, "public", "disclosure")
    page.goto(f"{live_url}/countries")
    _check(page, "public", "countries")
    assert page.console_log.errors == []


def test_enterprise_journey(page, live_url, demo_site):
    _login(page, live_url, "enterprise@demo.cecp", demo_site["password"])
    assert page.locator("#panel-grade").count() == 1
    assert page.locator("#panel-completeness").count() == 1
    _check(page, "enterprise", "home")
    page.click("#panel-grade a")
    page.wait_for_selector("#code-card")
    _check(page, "enterprise", "account")
    page.goto(f"{live_url}/energy/records")
    _check(page, "enterprise", "records")
    page.goto(f"{live_url}/energy/records/new")
    rows = page.locator("#lines tbody tr").count()
    page.click("#add-row")  # rows are added as needed, numbered on
    assert page.locator("#lines tbody tr").count() == rows + 1
    assert page.input_value("#row-count") == str(rows + 1)
    item = f"select[name=line-{rows}-item]"
    page.select_option(item, "electricity")  # the unit follows the item
    unit = page.locator(f"{item} option[value=electricity]").get_attribute("data-unit")
    assert unit and page.input_value(f"input[name=line-{rows}-unit]") == unit
    _check(page, "enterprise", "record-form")
    page.goto(f"{live_url}/workflow/inbox")
    _check(page, "enterprise", "inbox")
    page.goto(f"{live_url}/notifications")
    _check(page, "enterprise", "messages")
    page.goto(f"{live_url}/profile")
    _check(page, "enterprise", "profile")
    assert page.console_log.errors == []


def test_reviewer_journey(page, live_url, demo_site, app):
    _login(page, live_url, demo_site["email"], demo_site["password"], app,
           demo_site["user_id"])
    assert page.locator("#panel-tasks").count() == 1
    _check(page, "reviewer", "home")
    page.goto(f"{live_url}/workflow/inbox")
    _check(page, "reviewer", "inbox")
    page.goto(f"{live_url}/monitoring/region")
    _check(page, "reviewer", "region")
    page.goto(f"{live_url}/monitoring/enterprises")
    _check(page, "reviewer", "enterprises")
    assert page.console_log.errors == []


def test_administrator_journey(page, live_url, demo_site, app):
    from app.extensions import db
    from app.identity import service as accounts
    from tests.conftest import enrol_totp

    with app.app_context():
        admin = accounts.get_by_email(email="admin@demo.cecp")
        if not admin.tf_primary_method:
            enrol_totp(admin)
        admin_id = admin.id
        db.session.remove()
    _login(page, live_url, "admin@demo.cecp", demo_site["password"], app, admin_id)
    assert page.locator("#panel-health").count() == 1
    _check(page, "admin", "home")
    page.goto(f"{live_url}/admin/")
    _check(page, "admin", "admin-index")
    page.goto(f"{live_url}/admin/users/")
    body = page.inner_text("main")
    assert "<Role" not in body and "政府审核员（初审）" in body
    _check(page, "admin", "admin-users")
    page.goto(f"{live_url}/admin/audit/")
    assert "登录成功" in page.inner_text("main")
    _check(page, "admin", "admin-audit")
    page.click("#logout")
    page.wait_for_url("**/auth/login")
    assert page.console_log.errors == []


def test_verifier_journey(page, live_url, demo_site):
    _login(page, live_url, "verifier@demo.cecp", demo_site["password"])
    assert page.locator("#panel-tasks").count() == 1
    _check(page, "verifier", "home")
    page.goto(f"{live_url}/workflow/inbox")
    _check(page, "verifier", "inbox")
    assert page.console_log.errors == []
