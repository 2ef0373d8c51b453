"""Meter-sourced monthly lines feed the account when the enterprise chooses meters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select


def test_meter_source_wins_only_when_chosen(client, make_ent, make_client, make_meter,
                                            make_user, auth):
    from app.energy.models import EnergyRecord
    from app.extensions import db

    ent = make_ent(1)
    make_meter(ent, "E-1", unit="kWh", multiplier="100")
    h = make_client("erp", enterprises=[ent.uscc])
    person = auth(make_user("enterprise", enterprise=ent.uscc))
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    local = now + timedelta(hours=8)
    if local.day == 1 and local.hour < 6:  # too early in a month: use the previous one
        local = local.replace(day=1, hour=0) - timedelta(days=1)
    start = local.replace(day=1, hour=0) - timedelta(hours=8) + timedelta(hours=1)
    rows = [{"meter": "E-1", "ts": (start + timedelta(hours=i)).isoformat(), "value": "10"}
            for i in range(5) if start + timedelta(hours=i) < now]
    assert rows
    # a declared record for this month
    rec = {"uscc": ent.uscc, "year": local.year, "month": local.month, "gross_output": "100",
           "value_added": "50", "lines": [
               {"flow": "purchased", "item": "electricity", "amount": "9", "unit": "MWh"},
               {"flow": "consumed", "item": "natural_gas", "amount": "1",
                "unit": "10^4 Nm3"}]}
    assert client.post("/api/v1/energy-records", headers=person,
                       json={"records": [rec]}).status_code == 201
    client.post("/api/v1/readings", headers=h, json={"readings": rows})
    record = db.session.scalar(select(EnergyRecord))
    elec = next(ln for ln in record.lines if ln.item == "electricity")
    assert elec.amount == Decimal(9)  # form wins by default
    r = client.put(f"/api/v1/enterprises/{ent.uscc}/energy-sources", headers=person,
                   json={"item": "electricity", "source": "meter"})
    assert r.status_code == 200 and r.get_json()["sources"] == {"electricity": "meter"}
    db.session.expire_all()
    record = db.session.scalar(select(EnergyRecord))
    elec = next(ln for ln in record.lines if ln.item == "electricity")
    want = Decimal(len(rows)) * 10 * 100 / 1000  # kWh x multiplier -> MWh
    assert elec.amount == want and "meter-sourced" in elec.note
    assert record.revision == 2
    gas = next(ln for ln in record.lines if ln.item == "natural_gas")
    assert gas.amount == 1 and not (gas.note or "")
    # new readings re-derive the line through the job
    more = [{"meter": "E-1", "ts": rows[0]["ts"], "value": "20"}]
    client.post("/api/v1/readings", headers=h, json={"readings": more})
    db.session.expire_all()
    record = db.session.scalar(select(EnergyRecord))
    elec = next(ln for ln in record.lines if ln.item == "electricity")
    assert elec.amount == want + Decimal(1)
    # another tenant cannot change the choice
    other = make_ent(2, region="330100")
    stranger = auth(make_user("enterprise", enterprise=other.uscc))
    assert client.put(f"/api/v1/enterprises/{ent.uscc}/energy-sources", headers=stranger,
                      json={"item": "electricity", "source": "form"}).status_code == 404
    assert client.put(f"/api/v1/enterprises/{ent.uscc}/energy-sources", headers=person,
                      json={"item": "electricity", "source": "x"}).status_code == 422
