"""Browser tests: the app on a free localhost port (werkzeug, in a thread) against the test
database, loaded with the demo data through the services; Debian's chromium driven by
Python Playwright. Outside CI a missing browser skips; under CI=true it fails."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from app.monitoring.countries import CDIAC_FILE as CDIAC
from tests.conftest import CI

CHROMIUM = os.environ.get("CECP_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _missing(what: str):
    (pytest.fail if CI else pytest.skip)(what)


@pytest.fixture(scope="module")
def demo_site(app):
    """Demo data (reference, enterprises, 14 months of accounts, institutions, facts,
    countries), the demo reviewer enrolled in TOTP; returns the reviewer."""
    from app.demo import load_demo
    from app.extensions import db
    from app.identity import service as accounts
    from app.monitoring.countries import import_countries
    from tests.conftest import _truncate_all, enrol_totp

    with app.app_context():
        _truncate_all(db)
        app.extensions.pop("cecp_data_keys", None)
        load_demo(enterprises=15, months=14)
        if CDIAC.exists():
            assert import_countries(CDIAC)["ok"]
        db.session.commit()
        reviewer = accounts.get_by_email(email="reviewer@demo.cecp")
        enrol_totp(reviewer)
        yield {"email": reviewer.email, "password": app.config["CECP_DEMO_PASSWORD"],
               "user_id": reviewer.id}
        db.session.remove()


@pytest.fixture(scope="module")
def live_url(app, demo_site):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"chromium not found at {CHROMIUM}")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                               args=["--no-sandbox", "--disable-gpu",
                                     "--disable-background-networking"])
        yield b
        b.close()


class Console:
    """Collects JavaScript errors of a page (console.error and uncaught exceptions)."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, msg) -> None:
        # the browser's own favicon probe is not the page's JavaScript (the platform
        # serves no favicon.ico yet)
        if msg.type == "error" and not (msg.location or {}).get("url", "").endswith(
                "/favicon.ico"):
            self.errors.append(f"{msg.text} @ {(msg.location or {}).get('url')}")


@pytest.fixture()
def page(browser):
    context = browser.new_context(accept_downloads=True, locale="zh-CN",
                                  viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.console_log = Console(pg)
    yield pg
    context.close()
