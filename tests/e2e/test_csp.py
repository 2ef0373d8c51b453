"""Issue 16: the pages work under the Content-Security-Policy. The journeys fail on any
console error, and a CSP violation is one: this checks that the browser does report them
here (an injected inline script is refused), and walks the administrator's pages whose
Flask-Admin templates carry inline handlers (taken over by static/js/csp-shim.js)."""

from __future__ import annotations

from tests.e2e.test_journeys import _login


def _violations(page) -> list[str]:
    return [e for e in page.console_log.errors if "Content Security Policy" in e]


def test_an_inline_script_without_nonce_is_refused_and_reported(page, live_url, demo_site):
    page.goto(f"{live_url}/auth/login")
    page.wait_for_load_state("networkidle")
    assert _violations(page) == []
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.cecpInjected = 1'; document.body.appendChild(s); }""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.cecpInjected") is None
    assert _violations(page), page.console_log.errors


def test_admin_pages_work_under_the_policy(page, live_url, demo_site, app):
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
    page.goto(f"{live_url}/admin/users/")
    page.wait_for_load_state("networkidle")
    # Flask-Admin's "with selected" menu runs through the shim, not an inline handler
    assert page.locator("[onclick]").count() == 0
    assert page.locator("[data-cecp-onclick]").count() > 0
    page.goto(f"{live_url}/admin/sessions/?user=admin@demo.cecp")
    page.wait_for_load_state("networkidle")
    assert page.locator("#sessions tbody tr[id^=session-]").count() >= 1
    page.goto(f"{live_url}/admin/jobs/")
    page.wait_for_load_state("networkidle")
    assert page.console_log.errors == []
