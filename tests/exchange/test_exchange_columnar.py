"""The column-wise check of clean reading batches (`app.exchange.columnar`) against the
row-by-row one, and the fresh-bucket insert of the rollups with its fallback (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest


def _facts(*meters):
    from app.energy.models import EnergyType
    from app.exchange import readings
    from app.extensions import db

    types = {t.code: t for t in db.session.scalars(db.select(EnergyType))}
    return {m.external_id: (m, m.id, m.installed_at, m.unit, readings.bound_for(m, types))
            for m in meters}


def _both(items, facts, latest):
    """(column-wise rows or None, row-by-row (rows, errors))."""
    from app.exchange import columnar, readings

    metas = columnar.meter_column(items)
    fast = None
    if metas is not None:
        fast = columnar.clean_rows(items, metas=metas, facts=facts, latest=latest)
    return fast, readings._check_rows(items, facts=facts, latest=latest)


@pytest.fixture()
def two_meters(make_ent, make_meter):
    ent = make_ent(1)
    return (make_meter(ent, "C-1", installed_at="2026-01-01T00:00:00+08:00"),
            make_meter(ent, "C-2", unit="MWh", multiplier="100"))


NOW = datetime(2026, 6, 1, 12, 0)
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _row(meter="C-1", minutes=0, value="1.5", **extra):
    return {"meter": meter, "ts": (T0 + timedelta(minutes=minutes)).isoformat(),
            "value": value, **extra}


CLEAN = {
    "text values, two meters": [_row(m, 15 * i, f"{i}.25") for i in range(6)
                                for m in ("C-1", "C-2")],
    "numbers from JSON": [_row("C-1", 0, 3), _row("C-1", 15, 2.5), _row("C-2", 0, 0)],
    "decimals and spaces": [_row(" C-1 ", 0, Decimal("1.50")), _row("C-2", 0, " 7 ")],
    "the meter's unit named": [_row("C-1", 0, "1", unit="kWh"),
                               _row("C-2", 0, "1", unit=" MWh ")],
    "ceilings differ by meter": [_row("C-1", 0, "150"), _row("C-2", 0, "99")],
    "a start of service on one meter only": [_row("C-1", 0, "1"),
                                             {**_row("C-2"), "ts": "2025-06-01T00:00:00Z"}],
    "zones and datetimes": [{"meter": "C-1", "ts": "2026-05-01T08:00:00+08:00", "value": "1"},
                            {"meter": "C-1", "ts": datetime(2026, 5, 1, 1, tzinfo=UTC),
                             "value": "2"},
                            {"meter": "C-2", "ts": "2026-05-01T00:00:00Z", "value": "1e2"}],
}


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_clean_batches_give_the_rows_of_the_row_by_row_check(two_meters, name):
    fast, (rows, errors) = _both(CLEAN[name], _facts(*two_meters), NOW)
    assert not errors
    assert fast is not None, "a clean batch takes the column-wise path"
    assert list(fast) == rows and len(fast) == len(rows)


BAD = {
    "not an object": [_row(), "not an object"],
    "no meter": [_row(), {"ts": _row()["ts"], "value": "1"}],
    "blank meter": [_row(), _row("  ")],
    "unknown meter": [_row(), _row("NOPE")],
    "meter as a number": [_row(), _row(17)],
    "time not ISO": [_row(), {**_row("C-2"), "ts": "yesterday"}],
    "time without zone": [_row(), {**_row("C-2"), "ts": "2026-05-01T00:00:00"}],
    "time in the future": [_row(), {**_row("C-2"), "ts": "2026-06-02T00:00:00Z"}],
    "time as a number": [_row(), {**_row("C-2"), "ts": 1714521600}],
    "before the meter's start": [_row(), {**_row(), "ts": "2025-12-31T00:00:00Z"}],
    "negative": [_row(), _row("C-2", 15, "-1")],
    "not a number": [_row(), _row("C-2", 15, "abc")],
    "empty value": [_row(), _row("C-2", 15, "")],
    "no value": [_row(), {"meter": "C-2", "ts": _row()["ts"]}],
    "NaN text": [_row(), _row("C-2", 15, "NaN")],
    "NaN float": [_row(), _row("C-2", 15, float("nan"))],
    "infinity": [_row(), _row("C-2", 15, "Infinity")],
    "true as a value": [_row(), _row("C-2", 15, True)],
    "beyond any amount": [_row(), _row("C-2", 15, "1e14")],
    # electricity: 10,000 MWh a reading; C-1 counts kWh, C-2 MWh x 100 (ceiling 100 MWh)
    "above the meter's ceiling": [_row(), _row("C-1", 15, "20000000")],
    "above the ceiling after the multiplier": [_row(), _row("C-2", 15, "150")],
    "thousands separator (valid row by row)": [_row(), _row("C-2", 15, "1,000")],
    "another unit": [_row(), _row("C-2", 15, "1", unit="kWh")],
    "unit as a number": [_row(), _row("C-2", 15, "1", unit=5)],
    "the same reading twice (kept once)": [_row(), _row()],
    "the same instant in another zone (kept once)": [
        _row(), {**_row(), "ts": "2026-05-01T08:00:00+08:00"}],
    "the same instant, another value": [_row(), _row(value="2")],
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_every_bad_input_class_is_left_to_the_row_by_row_check(two_meters, name):
    """The column-wise path never words an error: it declines, and `validate` answers
    exactly what the per-row loop answers (rows, and each field's Chinese message)."""
    from app.exchange import readings
    from app.identity.scope import DataScope

    facts = _facts(*two_meters)
    fast, (rows, errors) = _both(BAD[name], facts, NOW)
    assert fast is None
    checked = readings.validate(BAD[name], scope=DataScope(all=True),
                                now=NOW - readings.FUTURE_TOLERANCE)
    assert list(checked.rows) == rows and checked.errors == errors
    if "valid" not in name and "kept once" not in name:
        assert errors, "a bad row is named"


def test_validate_takes_the_column_path_and_stores_the_same(two_meters):
    from app.exchange import columnar, readings
    from app.identity.scope import DataScope

    items = CLEAN["text values, two meters"]
    checked = readings.validate(items, scope=DataScope(all=True),
                                now=NOW - readings.FUTURE_TOLERANCE)
    assert isinstance(checked.rows, columnar.Readings) and not checked.errors
    rows, _ = readings._check_rows(items, facts=_facts(*two_meters), latest=NOW)
    assert list(checked.rows) == rows
    assert columnar.columns(checked.rows) == columnar.columns(list(checked.rows))


def test_fresh_buckets_are_inserted_plainly_and_a_late_conflict_falls_back(
        app, make_ent, make_meter, monkeypatch, sql_log):
    """First readings of their hours: the rollups are a plain insert (no conflict check per
    bucket). When a writer made one of those buckets in between (simulated: the probe says
    none exist although they do), the insert fails in its savepoint and the upsert adds to
    what is there, so the sums are exact either way."""
    from app.exchange import readings
    from app.exchange.models import MeterRollup
    from app.extensions import db

    if db.engine.dialect.name != "postgresql":
        return
    ent = make_ent(1)
    m = make_meter(ent, "R-1", multiplier="10")
    first = [(m.id, datetime(2026, 4, 1, 0, 15 * q), Decimal("1.5")) for q in range(4)]
    with sql_log() as seen:
        readings.store(first, batch_id=None)
    db.session.commit()
    rollups = [s for s in seen if "INSERT INTO meter_rollup" in s]
    assert rollups and "ON CONFLICT" not in rollups[0]
    monkeypatch.setattr(readings, "_no_rollups", lambda *a, **k: True)
    later = [(m.id, datetime(2026, 4, 1, 0, 5 + 15 * q), Decimal("0.5")) for q in range(4)]
    with sql_log() as seen:
        readings.store(later, batch_id=None)
    db.session.commit()
    assert "ON CONFLICT" in [s for s in seen if "INSERT INTO meter_rollup" in s][-1]
    got = {r.resolution: (r.total, r.count) for r in db.session.query(MeterRollup)}
    # (4 x 1.5 + 4 x 0.5) x 10, one Beijing hour (08:00), day and month
    assert got == {"hour": (Decimal("80"), 8), "day": (Decimal("80"), 8),
                   "month": (Decimal("80"), 8)}
