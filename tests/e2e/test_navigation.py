"""The header's menus in a real browser (issue 12): for every demo role, in Chinese and in
English, the navigation is one row on a 1280-pixel screen, grouped into a few menus; a menu
opens and is walked with the keyboard alone (aria-expanded follows), Escape closes it and
returns to its button; no inline script (the CSP would refuse it). Screenshots of the open
menus are saved under test-artifacts/nav-*.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS

ROLES = ("reviewer", "approver", "enterprise", "verifier", "admin", "designer")

ROW = """() => {
  const tops = [...document.querySelectorAll('.cecp-menubar > li')]
    .map(li => Math.round(li.getBoundingClientRect().top));
  const header = document.querySelector('.cecp-header').getBoundingClientRect();
  const nav = document.querySelector('.cecp-nav').getBoundingClientRect();
  const tools = document.querySelector('.cecp-tools').getBoundingClientRect();
  const w = s => Math.round(document.querySelector(s).getBoundingClientRect().width);
  return {tops, height: Math.round(header.height),
          widths: [w('.cecp-brand'), w('.cecp-menubar'), w('.cecp-tools')],
          navRight: Math.round(nav.right), toolsLeft: Math.round(tools.left),
          toolsTop: Math.round(tools.top), navTop: Math.round(nav.top),
          overflow: document.documentElement.scrollWidth > window.innerWidth};
}"""


def _sign_in(page, live_url, app, email: str, password: str) -> None:
    from app.extensions import db
    from app.identity import service as accounts
    from tests.conftest import enrol_totp, totp_now

    with app.app_context():
        user = accounts.get_by_email(email=email)
        two_factor = user.requires_two_factor()
        if two_factor and not user.tf_primary_method:
            enrol_totp(user)
        user_id = user.id
        db.session.remove()
    page.goto(f"{live_url}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    if two_factor:
        from app.identity.models import User

        page.wait_for_selector("input[name=code]")
        with app.app_context():
            code = totp_now(db.session.get(User, user_id))
            db.session.remove()
        page.fill("input[name=code]", code)
        page.press("input[name=code]", "Enter")
    page.wait_for_selector("#logout")


def _one_row(page, label: str) -> int:
    r = page.evaluate(ROW)
    assert r["tops"], label
    assert len(set(r["tops"])) == 1, f"{label}: menus in more than one row {r}"
    assert r["height"] <= 64, f"{label}: header {r['height']} px high {r}"
    assert abs(r["toolsTop"] - r["navTop"]) < 30, f"{label}: tools wrapped {r}"
    assert not r["overflow"], f"{label}: page wider than the screen"
    return len(r["tops"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_row_for_every_role(browser, live_url, demo_site, app, lang):
    counts = {}
    for role in ROLES:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        _sign_in(page, live_url, app, f"{role}@demo.cecp", demo_site["password"])
        page.goto(f"{live_url}/?lang={lang}")
        page.wait_for_load_state("networkidle")
        first = page.locator(".cecp-menu-button").first
        if first.count():
            first.click()
            page.wait_for_selector(".cecp-menu.open .cecp-submenu a")
        page.screenshot(path=str(ARTIFACTS / f"nav-{role}-{lang}.png"))
        counts[role] = _one_row(page, f"{role}/{lang}")
        assert counts[role] <= 8, f"{role}: {counts[role]} top-level entries"
        context.close()
    # anonymous visitors: the public pages only
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_url}/countries?lang={lang}")
    _one_row(page, f"public/{lang}")
    page.screenshot(path=str(ARTIFACTS / f"nav-public-{lang}.png"))
    context.close()


def test_menus_work_with_the_keyboard(browser, live_url, demo_site, app):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, live_url, app, demo_site["email"], demo_site["password"])
    page.goto(f"{live_url}/")
    html = page.content()
    assert "<script>" not in html.split("</header>")[0]  # no inline script in the header
    button = page.locator("#menu-monitor")
    assert button.get_attribute("aria-expanded") == "false"
    assert not page.locator("#menu-monitor-list").is_visible()
    # Tab reaches the button; Enter opens the menu on its first link
    button.focus()
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true"
    assert page.locator("#menu-monitor-list").is_visible()
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "/monitoring/region"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/monitoring/industry"
    page.keyboard.press("End")
    page.keyboard.press("Home")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/monitoring/region"
    page.screenshot(path=str(ARTIFACTS / "nav-keyboard-open.png"))
    # Escape closes and gives the focus back to the button
    page.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.id") == "menu-monitor"
    assert not page.locator("#menu-monitor-list").is_visible()
    # ArrowRight moves to the next top-level entry; Enter on a link follows it
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") != "menu-monitor"
    button.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_url}/monitoring/industry*")
    # the page's group is marked as the current one
    assert "active" in (page.locator("#menu-monitor").get_attribute("class") or "")
    assert page.locator('#menu-monitor-list a[aria-current="page"]').count() == 1
    # a click outside closes an open menu
    page.locator("#menu-monitor").click()
    assert page.locator("#menu-monitor-list").is_visible()
    page.mouse.click(640, 700)
    page.mouse.move(640, 700)
    assert page.locator("#menu-monitor").get_attribute("aria-expanded") == "false"
    assert errors == []
    context.close()
