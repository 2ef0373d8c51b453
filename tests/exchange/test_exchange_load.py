"""Bounded versions of the exchange benchmarks (`benchmarks/exchange_load.py`, the same
code at a few thousand rows): concurrent REST batches through 2 gunicorn worker processes,
the rollups after a burst, a sync from an intermediate database. Correctness only: the
figures are the benchmark's business."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from benchmarks import exchange_load as load


def _meters(ent, make_meter, n: int, prefix: str) -> list[str]:
    ids = [f"{prefix}-{i:03d}" for i in range(n)]
    for ext in ids:
        make_meter(ent, ext)
    return ids


def test_rest_batches_through_two_server_processes(database_url, make_ent, make_meter):
    from app.exchange import clients
    from app.exchange.models import ExchangeBatch, MeterReading
    from app.extensions import db

    if not database_url.startswith("postgresql"):
        pytest.skip("server processes share the PostgreSQL test database")
    ent = make_ent(1)
    ids = _meters(ent, make_meter, 10, "G")
    _, key = clients.create(name="load", enterprises=[ent.uscc])
    db.session.commit()
    # 6 batches, all in the same new month: concurrent first writers of its partition and
    # of the same rollup buckets
    bodies = [
        json.dumps({"readings": load.rows(ids, 200, datetime(2025, 3, 1 + b))}).encode()
        for b in range(6)
    ]
    port = load.free_port(18500, 18600)
    with load.Gunicorn(url=database_url, port=port, workers=2) as server:
        res = load.post_batches(port=port, key=key, bodies=bodies, clients=3)
        assert res["statuses"] == [201] * 6, server.errors()
    assert res["inserted"] == 1200
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MeterReading)) == 1200
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ExchangeBatch)
            .where(ExchangeBatch.status == "promoted")
        )
        == 6
    )


def test_rollups_after_a_burst_match_the_raw_readings(database_url, make_ent, make_meter):
    if not database_url.startswith("postgresql"):
        pytest.skip("the check reads the rollups with PostgreSQL SQL")
    ent = make_ent(1)
    ids = _meters(ent, make_meter, 20, "R")
    res = load.rollup_lag(ids=ids, total=4000, size=1000, start=datetime(2025, 1, 31, 20))
    assert res["readings"] == 4000
    assert res["raw"] == res["rolled"] and res["raw"][0] == 4000


def test_sync_from_an_intermediate_database(app, make_ent, make_meter, tmp_path, monkeypatch):
    from app.exchange.models import MeterReading
    from app.extensions import db
    from integrations import etl

    ent = make_ent(1)
    ids = _meters(ent, make_meter, 20, "S")
    path = tmp_path / "power.db"
    assert load.power_db(path, ids, 50, datetime(2025, 5, 1)) == 1000
    assert load.raw_read(path) > 0
    monkeypatch.setitem(app.config, "CECP_POWER_SYNC_URL", f"sqlite:///{path}")
    out = etl.sync("power_marketing")
    assert (out["rows"], out["rejected"]) == (1000, 0), out
    assert db.session.scalar(select(func.count()).select_from(MeterReading)) == 1000
