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


def test_append_path_and_its_fallback_give_the_same_answer(app, make_ent, make_meter,
                                                           monkeypatch):
    """A batch overlapping nothing stored is appended without the delta join; when a writer
    got there first (simulated: the overlap probe answers no although rows are stored) the
    insert fails inside its savepoint and the merge path gives the exact answer."""
    from app.exchange import readings
    from app.exchange.models import MeterReading, MeterRollup, ReadingCorrection
    from app.extensions import db

    if db.engine.dialect.name != "postgresql":
        return
    ent = make_ent(1)
    m = make_meter(ent, "A-1")
    day = [(m.id, datetime(2026, 3, 1, h), Decimal("2")) for h in range(24)]
    first = readings.store(day, batch_id=None)
    db.session.commit()
    assert (first.inserted, first.corrected, first.unchanged) == (24, 0, 0)
    monkeypatch.setattr(readings, "_overlaps", lambda *a: False)
    again = [(mid, ts, Decimal("3") if ts.hour == 5 else v) for mid, ts, v in day]
    again.append((m.id, datetime(2026, 3, 2, 0), Decimal("7")))
    second = readings.store(again, batch_id=None)
    db.session.commit()
    assert (second.inserted, second.corrected, second.unchanged) == (1, 1, 23)
    assert db.session.query(MeterReading).count() == 25
    assert db.session.query(ReadingCorrection).count() == 1
    # Beijing days: UTC 00-15 h are 1 March (16 x 2, hour 5 corrected to 3), UTC 16-23 h
    # and the new reading (08:00 Beijing) are 2 March (8 x 2 + 7)
    days = {r.bucket.day: (r.total, r.count)
            for r in db.session.query(MeterRollup).filter_by(resolution="day")}
    assert days == {1: (Decimal("33"), 16), 2: (Decimal("23"), 9)}
