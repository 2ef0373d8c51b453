"""SOAP through a real local HTTP server, with zeep as the client from the published WSDL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests


@pytest.fixture()
def server(app, db):
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=5)


def _zeep(base: str, name: str | None = None, key: str | None = None):
    from zeep import Client
    from zeep.wsse.username import UsernameToken

    wsse = UsernameToken(name, key) if name else None
    return Client(f"{base}/ws/exchange?wsdl", wsse=wsse)


def _ts(hours: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(microsecond=0).isoformat()


def test_wsdl_lists_the_operations(server):
    r = requests.get(f"{server}/ws/exchange?wsdl", timeout=10)
    assert r.status_code == 200
    for op in ("SubmitEnergyRecords", "SubmitReadings", "GetCarbonAccount", "GetBatchStatus"):
        assert op in r.text


def test_submit_readings_and_status_with_zeep(server, make_ent, make_client, make_meter):
    from zeep.exceptions import Fault

    ent, other = make_ent(1), make_ent(2, region="330100")
    make_meter(ent, "S-1")
    make_meter(other, "O-1")
    key = make_client("scada", enterprises=[ent.uscc])["X-API-Key"]
    c = _zeep(server, "scada", key)
    rows = [{"meter": "S-1", "ts": _ts(h), "value": "2.5"} for h in (1, 2, 3)]
    res = c.service.SubmitReadings(readings={"Reading": rows}, idempotency_key="soap-1")
    assert (res.status, res.inserted, res.rejected) == ("promoted", 3, 0)
    again = c.service.SubmitReadings(readings={"Reading": rows}, idempotency_key="soap-1")
    assert again.replayed and again.batch_id == res.batch_id
    st = c.service.GetBatchStatus(batch_id=res.batch_id)
    assert st.accepted == 3
    # field errors as a fault
    with pytest.raises(Fault) as exc:
        c.service.SubmitReadings(readings={"Reading": [
            {"meter": "S-1", "ts": "2026-13-01", "value": "1"},
            {"meter": "S-1", "ts": _ts(1), "value": "-1"}]})
    detail = exc.value.detail
    errors = {(e.get("row"), e.get("field")): e.text for e in detail.iter()
              if e.tag.endswith("fieldError")}
    assert "ISO 8601" in errors[("1", "ts")] and "负数" in errors[("2", "value")]
    # another enterprise's meter: refused
    with pytest.raises(Fault) as exc:
        c.service.SubmitReadings(readings={"Reading": [
            {"meter": "O-1", "ts": _ts(1), "value": "1"}]})
    assert "OutOfScope" in exc.value.code


def test_authentication_required(server, make_ent, make_client):
    from zeep.exceptions import Fault

    ent = make_ent(1)
    key = make_client("scada", enterprises=[ent.uscc])["X-API-Key"]
    for c in (_zeep(server), _zeep(server, "scada", "cecp_x.y"), _zeep(server, "other", key)):
        with pytest.raises(Fault) as exc:
            c.service.GetBatchStatus(batch_id=1)
        assert "Authentication" in exc.value.code


def test_energy_records_and_carbon_account(server, make_ent, make_client):
    from zeep.exceptions import Fault

    ent = make_ent(1)
    key = make_client("erp", enterprises=[ent.uscc])["X-API-Key"]
    c = _zeep(server, "erp", key)
    rec = {"uscc": ent.uscc, "year": "2026", "month": "3", "gross_output": "3000",
           "value_added": "1000", "lines": {"EnergyLine": [
               {"flow": "purchased", "item": "electricity", "amount": "1200", "unit": "MWh"}]}}
    res = c.service.SubmitEnergyRecords(records={"EnergyRecord": [rec]})
    assert res.status == "promoted" and res.accepted == 1
    with pytest.raises(Fault) as exc:
        c.service.SubmitEnergyRecords(records={"EnergyRecord": [rec]})
    assert "已存在" in "".join(e.text or "" for e in exc.value.detail.iter())
    acc = c.service.GetCarbonAccount(uscc=ent.uscc, year=2026, month=3)
    assert acc.uscc == ent.uscc and acc.co2_total not in (None, "0")
    with pytest.raises(Fault):
        c.service.GetCarbonAccount(uscc="91330100MA0000000X", year=2026, month=3)


def test_doctype_refused_with_400(server):
    body = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            '<soap:Body>&e;</soap:Body></soap:Envelope>')
    r = requests.post(f"{server}/ws/exchange", data=body.encode(),
                      headers={"Content-Type": "text/xml"}, timeout=10)
    assert r.status_code == 400 and "root:" not in r.text
