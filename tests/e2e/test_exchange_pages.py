"""Exchange pages in a real browser (Debian chromium): the batches the demo's power-system
sync made, one batch with its counts, the real-time page of a demo enterprise (its rows
refresh in place), the exchange log and the import page; each in the platform layout, in
Chinese, without JavaScript errors or serious accessibility violations (axe-core), with a
full-page screenshot under test-artifacts/journey-exchange-*.png."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.test_journeys import _check, _login


def test_exchange_pages(page, live_url, demo_site, app):
    from app.exchange.models import ExchangeBatch, Meter
    from app.extensions import db
    from app.identity import service as accounts
    from tests.conftest import enrol_totp

    with app.app_context():
        admin = accounts.get_by_email(email="admin@demo.cecp")
        if not admin.tf_primary_method:
            enrol_totp(admin)
        admin_id = admin.id
        batch_id = db.session.scalar(
            select(ExchangeBatch.id).where(ExchangeBatch.source == "etl").order_by(ExchangeBatch.id)
        )
        meter = db.session.scalar(select(Meter).order_by(Meter.id))
        uscc, meter_ext = meter.enterprise.uscc, meter.external_id
        db.session.remove()
    assert batch_id is not None  # the demo synced its power-system database
    _login(page, live_url, "admin@demo.cecp", demo_site["password"], app, admin_id)

    page.goto(f"{live_url}/exchange/batches")
    _check(page, "exchange", "batches")
    assert "中间库同步" in page.inner_text("#batches")
    page.goto(f"{live_url}/exchange/batches/{batch_id}")
    _check(page, "exchange", "batch")
    assert page.inner_text("#batch-progress").strip() == "100%"
    assert "行/秒" in page.inner_text("#batch-rate")

    page.goto(f"{live_url}/exchange/realtime/{uscc}")
    _check(page, "exchange", "realtime")
    rows = page.inner_text("#realtime-rows")
    assert meter_ext in rows and "kWh" in rows
    # the page's refresh (every 30 s) swaps the rows in place: run it now
    page.evaluate("""async () => {
      const r = await fetch(location.pathname + '?partial=1', {credentials: 'same-origin'});
      document.getElementById('realtime-rows').innerHTML = await r.text();
    }""")
    assert meter_ext in page.inner_text("#realtime-rows")

    page.goto(f"{live_url}/exchange/log?q=sync")
    _check(page, "exchange", "log")
    assert "sync.power_marketing" in page.inner_text("#exchange-log")
    page.goto(f"{live_url}/exchange/import")
    _check(page, "exchange", "import")
    kinds = page.locator("#kind option").all_inner_texts()
    assert {"计量读数", "计量表", "月度能源数据", "企业信息", "产值数据"} <= set(kinds)
    assert page.console_log.errors == []
