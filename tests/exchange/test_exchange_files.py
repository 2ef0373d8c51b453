"""Bulk files: upload page and API (CSV, XLSX), templates, job, modes, `cecp import`."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select


def _xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _count(model):
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def test_templates_round_trip(client, make_ent, make_client):
    from integrations.files import read_table

    ent = make_ent(1)
    h = make_client("erp", enterprises=[ent.uscc])
    for kind in ("readings", "meters", "energy"):
        for fmt in ("csv", "xlsx"):
            r = client.get(f"/api/v1/exchange/templates/{kind}.{fmt}", headers=h)
            assert r.status_code == 200
            rows = read_table(r.data, f"t.{fmt}", kind)
            assert len(rows) == 1
    assert set(read_table(client.get("/api/v1/exchange/templates/readings.xlsx",
                                     headers=h).data, "t.xlsx", "readings")[0]) \
        == {"meter", "ts", "value", "unit"}


def test_api_upload_meters_then_readings_xlsx_partial(client, make_ent, make_client):
    from app.exchange.models import Meter, MeterReading

    ent = make_ent(1)
    h = make_client("erp", enterprises=[ent.uscc], permissions=[
        "meters.write", "readings.write", "enterprise.read"])
    meters = ("统一社会信用代码,计量表编号,名称,能源品种,单位,倍率\n"
              f"{ent.uscc},F-1,总表,electricity,kWh,100\n"
              f"{ent.uscc},F-2,燃气表,natural_gas,m3,1\n").encode()
    r = client.post("/api/v1/exchange/files", headers=h, data={
        "kind": "meters", "mode": "all", "file": (io.BytesIO(meters), "meters.csv")})
    assert r.status_code == 202, r.get_json()
    st = client.get(r.get_json()["status_url"], headers=h).get_json()
    assert st["status"] == "promoted" and _count(Meter) == 2
    base = datetime(2026, 11, 1, 8, 0)
    rows = [["计量表编号", "时间", "读数"]] + [["F-1", base + timedelta(hours=i), 1.5]
                                               for i in range(20)]
    rows.append(["F-9", base, 1])          # unknown meter
    rows.append(["F-1", "tomorrow", 1])    # malformed time
    r = client.post("/api/v1/exchange/files", headers=h, data={
        "kind": "readings", "mode": "partial",
        "file": (io.BytesIO(_xlsx(rows)), "readings.xlsx")})
    st = client.get(r.get_json()["status_url"], headers=h).get_json()
    assert (st["status"], st["accepted"], st["rejected"]) == ("partial", 20, 2)
    assert {e["row"] for e in st["errors"]} == {21, 22}
    assert _count(MeterReading) == 20
    # spreadsheet dates are Beijing time: 08:00 local is 00:00 UTC
    got = client.get("/api/v1/readings?meter=F-1&resolution=raw", headers=h).get_json()
    assert got["items"][0]["ts"] == "2026-11-01T00:00:00Z"


def test_all_or_nothing_and_explicit_choice(client, make_ent, make_client, make_meter):
    from app.exchange.models import MeterReading

    ent = make_ent(1)
    make_meter(ent, "F-1")
    h = make_client("erp", enterprises=[ent.uscc])
    now = datetime.now(UTC) - timedelta(hours=2)
    csv_bytes = ("meter,ts,value\n"
                 f"F-1,{now.isoformat()},1\nF-1,{now.isoformat()}x,1\n").encode()
    r = client.post("/api/v1/exchange/files", headers=h, data={
        "kind": "readings", "file": (io.BytesIO(csv_bytes), "r.csv")})
    assert r.status_code == 422 and "mode" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/exchange/files", headers=h, data={
        "kind": "readings", "mode": "all", "file": (io.BytesIO(csv_bytes), "r.csv")})
    st = client.get(r.get_json()["status_url"], headers=h).get_json()
    assert st["status"] == "rejected" and _count(MeterReading) == 0
    x = client.get(f"/api/v1/exchange/batches/{st['id']}/rejected.xlsx", headers=h)
    assert x.status_code == 200


def test_upload_page_and_progress(client, make_ent, make_meter, make_user):
    from tests.conftest import login

    ent = make_ent(1)
    make_meter(ent, "P-1")
    user = make_user("enterprise", enterprise=ent.uscc)
    login(client, user)
    page = client.get("/exchange/import")
    assert page.status_code == 200 and "全部或全不" in page.get_data(as_text=True)
    ts = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = client.post("/exchange/import", data={
        "kind": "readings", "mode": "all",
        "file": (io.BytesIO(f"meter,ts,value\nP-1,{ts},3\n".encode()), "r.csv")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    page = client.get(r.headers["Location"])
    text = page.get_data(as_text=True)
    assert "已入库" in text and "100%" in text and "行/秒" in text


def test_cli_import_readings_and_meters(app, make_ent, tmp_path):
    from app.cli import cli
    from app.exchange.models import Meter, MeterReading

    ent = make_ent(1)
    (tmp_path / "m.csv").write_text(
        f"enterprise,external_id,energy_type,unit\n{ent.uscc},C-1,electricity,kWh\n",
        encoding="utf-8")
    runner = app.test_cli_runner()
    out = runner.invoke(cli, ["import", "meters", str(tmp_path / "m.csv")])
    assert out.exit_code == 0, out.output
    assert _count(Meter) == 1
    ts = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    (tmp_path / "r.csv").write_text(f"meter,ts,value\nC-1,{ts},1\nC-1,{ts},-1\n",
                                    encoding="utf-8")
    out = runner.invoke(cli, ["import", "readings", str(tmp_path / "r.csv")])
    assert out.exit_code == 1 and "第 3 行" in out.output
    assert _count(MeterReading) == 0
