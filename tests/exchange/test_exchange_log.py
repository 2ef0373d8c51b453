"""Exchange log (admin page, search), metrics, and file uploads staying in scope."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta


def test_log_page_metrics_and_file_scope(client, make_ent, make_client, make_meter,
                                         make_user):
    from tests.conftest import enrol_totp, login

    a, b = make_ent(1), make_ent(2, region="330100")
    make_meter(a, "A-1")
    make_meter(b, "B-1")
    ha = make_client("erp-a", enterprises=[a.uscc])
    ts = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    client.post("/api/v1/readings", headers=ha,
                json={"readings": [{"meter": "A-1", "ts": ts, "value": "1"}]})
    # a file naming another tenant's meter is refused row by row, nothing written
    r = client.post("/api/v1/exchange/files", headers=ha, data={
        "kind": "readings", "mode": "partial",
        "file": (io.BytesIO(f"meter,ts,value\nB-1,{ts},5\n".encode()), "x.csv")})
    st = client.get(r.get_json()["status_url"], headers=ha).get_json()
    assert st["status"] == "rejected" and "不存在或不在" in st["errors"][0]["fields"]["meter"]
    assert client.get("/api/v1/readings?meter=B-1", headers=ha).status_code == 404

    admin = make_user("admin")
    enrol_totp(admin)
    login(client, admin)
    page = client.get("/exchange/log?q=erp-a")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "readings.post" in text and "import.readings" in text
    assert "erp-a" in text
    assert "交换日志" in client.get("/exchange/batches").get_data(as_text=True)
    metrics = client.get("/api/v1/metrics").get_data(as_text=True)
    assert 'cecp_exchange_total{channel="rest",operation="readings.post"' in metrics
