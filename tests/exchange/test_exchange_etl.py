"""Intermediate database: the power-marketing mapping from a second (SQLite) database,
incremental watermark, unknown meters kept as rejected rows, scheduled and on demand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select


def test_power_marketing_sync_is_incremental(app, make_ent, make_meter, tmp_path):
    import sqlite3

    from app.exchange.models import ExchangeBatch, MeterReading, SyncState
    from app.extensions import db
    from integrations import demo, etl

    ent = make_ent(1)
    make_meter(ent, "DB-1", installed_at="2020-01-01T00:00:00+08:00")
    path = tmp_path / "power.db"
    end = datetime(2026, 11, 3, 0, 0)
    n = demo.build_power_db(path, [("3300000001", "DB-1", 400), ("3300000002", "GHOST", 100)],
                            days=2, end=end)
    assert n == 96
    app.config["CECP_POWER_SYNC_URL"] = f"sqlite:///{path}"
    try:
        out = etl.sync("power_marketing")
        assert out["rows"] == 96 and out["rejected"] == 48, out
        stored = db.session.scalar(select(func.count()).select_from(MeterReading))
        assert stored == 48
        state = db.session.get(SyncState, "power_marketing")
        assert state.watermark.startswith("2026-11-02 23:00")
        # nothing new: only the watermark's own instant is read again (idempotent)
        again = etl.sync("power_marketing")
        assert again["rows"] == 2
        assert db.session.scalar(select(func.count()).select_from(MeterReading)) == 48
        # new rows upstream are picked up on the next (scheduled) run
        conn = sqlite3.connect(path)
        conn.execute('INSERT INTO yx_cbsj VALUES (?, ?, ?, ?, ?, ?, ?)',
                     ("3300000001", "DB-1", "2026-11-03 00:00:00", 1, 100, "12.5", 8.5))
        conn.commit()
        conn.close()
        from app.jobs.registry import get

        runs = get("exchange.sync")(name="power_marketing")
        assert runs[0]["rows"] == 3  # the two at the watermark again + the new one
        assert db.session.scalar(select(func.count()).select_from(MeterReading)) == 49
        # 抄表时间 is Beijing time: 2026-11-03 00:00 +08:00 is 16:00 UTC the day before
        got = db.session.scalar(select(MeterReading.ts).order_by(MeterReading.ts.desc()))
        assert got == datetime(2026, 11, 2, 16, 0)
        sources = set(db.session.scalars(select(ExchangeBatch.source)))
        assert sources == {"etl"}
    finally:
        app.config.pop("CECP_POWER_SYNC_URL")


def test_cli_sync_reports_a_missing_source(app, energy_ref, tmp_path):
    from app.cli import cli

    app.config["CECP_POWER_SYNC_URL"] = f"sqlite:///{tmp_path}/nope/none.db"
    try:
        out = app.test_cli_runner().invoke(cli, ["exchange", "sync", "power_marketing"])
    finally:
        app.config.pop("CECP_POWER_SYNC_URL")
    assert out.exit_code == 1 and "错误" in out.output
