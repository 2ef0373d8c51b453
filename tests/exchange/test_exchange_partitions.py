"""Monthly partitions: made ahead by the periodic job, on demand for back-fills, dropped
whole past the retention; rollups trimmed per resolution."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text


def test_partitions_ahead_on_demand_and_retention(app, make_ent, make_meter):
    from app.exchange import partitions, readings, retention
    from app.exchange.models import MeterRollup
    from app.extensions import db
    from app.jobs.periodic import PERIODIC

    assert "exchange.partitions" in PERIODIC
    assert db.engine.dialect.name == "postgresql"
    made = partitions.ensure_ahead(today=date(2026, 12, 5), months_ahead=2)
    have = partitions.existing()
    assert {"meter_reading_p202611", "meter_reading_p202612", "meter_reading_p202701",
            "meter_reading_p202702"} <= have
    assert partitions.ensure_ahead(today=date(2026, 12, 5), months_ahead=2) == [] or made
    ent = make_ent(1)
    m = make_meter(ent, "P-1")
    old = datetime(2020, 3, 5, 1, 0)
    readings.store([(m.id, old, Decimal(1)), (m.id, datetime(2026, 12, 1), Decimal(2))],
                   batch_id=None)
    db.session.commit()
    assert "meter_reading_p202003" in partitions.existing()
    # the row went to its month's partition
    n = db.session.execute(text("SELECT count(*) FROM meter_reading_p202003")).scalar()
    assert n == 1
    dropped = partitions.drop_expired(today=date(2026, 12, 5), keep_months=36)
    db.session.commit()
    assert "meter_reading_p202003" in dropped and "meter_reading_p202003" not in \
        partitions.existing()
    assert db.session.execute(text("SELECT count(*) FROM meter_reading")).scalar() == 1
    trimmed = retention.trim_rollups(today=date(2026, 12, 5))
    db.session.commit()
    assert trimmed["hour"] == 1
    left = {(r.resolution, r.bucket.year) for r in db.session.query(MeterRollup)}
    assert ("hour", 2020) not in left and ("month", 2020) in left


def test_periodic_job_runs(app, energy_ref):
    from app.jobs.registry import get

    out = get("exchange.partitions")()
    assert isinstance(out["made"], list) and "dropped" in out
