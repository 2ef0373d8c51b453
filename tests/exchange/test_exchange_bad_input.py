"""Strict input on the exchange endpoints: NUL bytes, out-of-range integers, wrong types
are a 4xx naming the field (never a 500), and nothing is written."""

from __future__ import annotations

from sqlalchemy import func, select

BAD_PATHS = [
    ("get", "/api/v1/readings?meter=a%00b", None),
    ("get", "/exchange/realtime/a%00b", None),
    ("get", "/exchange/log?q=a%00b", None),
    ("get", "/api/v1/readings?meter=E-1&from=2026-01-01T00:00:00%00Z", None),
    ("get", "/api/v1/meters/a%00b", None),
    ("get", "/api/v1/meters?enterprise=a%00b", None),
    ("get", "/api/v1/exchange/batches/99999999999999999999", None),
    ("get", "/api/v1/exchange/batches/99999999999999999999/rejected.xlsx", None),
    ("get", "/api/v1/exchange/realtime?enterprise=a%00b", None),
    ("get", "/api/v1/enterprises/a%00b/energy-sources", None),
    ("put", "/api/v1/enterprises/a%00b/energy-sources", {"item": "x", "source": "meter"}),
    ("post", "/api/v1/readings", {"readings": [{"meter": "E-\x001", "ts": "x", "value": "1"}]}),
    (
        "post",
        "/api/v1/readings",
        {"readings": [{"meter": "E-1", "ts": "2026-01-01\x00", "value": "1"}]},
    ),
    ("post", "/api/v1/readings", {"readings": [{"meter": "E-1", "value": "1\x00"}]}),
    (
        "post",
        "/api/v1/readings",
        {"readings": [{"meter": "E-1", "ts": "2026-01-01T00:00:00Z", "value": "1e400000"}]},
    ),
    ("post", "/api/v1/readings", {"readings": [{"meter": ["E-1"], "ts": 5, "value": {}}]}),
    ("post", "/api/v1/readings", {"readings": [], "idempotency_key": "k\x00"}),
    ("post", "/api/v1/readings", {"readings": [{"meter": "E-1"}], "idempotency_key": 7}),
    ("post", "/api/v1/readings", {"readings": [{"meter": "E-1"}], "mode": "x\x00"}),
    (
        "post",
        "/api/v1/meters",
        {
            "enterprise": "a\x00",
            "external_id": "M\x00",
            "energy_type": "electricity",
            "unit": "kWh",
            "multiplier": "1",
        },
    ),
    (
        "post",
        "/api/v1/meters",
        {
            "enterprise": "x",
            "external_id": "M",
            "energy_type": "e\x00",
            "unit": "kWh",
            "multiplier": "99999999999999999999999999",
        },
    ),
]


def test_bad_input_is_a_4xx_naming_the_field(client, make_ent, make_meter, make_client, make_user):
    from app.exchange.models import ExchangeBatch, Meter, MeterReading
    from app.extensions import db
    from tests.conftest import api_token

    ent = make_ent(1)
    make_meter(ent, "E-1")
    h = make_client(
        "erp",
        enterprises=[ent.uscc],
        permissions=["readings.write", "meters.write", "energy.write", "enterprise.read"],
    )
    admin = api_token(client, make_user("admin"))
    before = [db.session.scalar(select(func.count()).select_from(m)) for m in (Meter, MeterReading)]
    for method, path, body in BAD_PATHS:
        headers = admin if path.startswith("/exchange/") else h
        kw = {"headers": headers} | ({"json": body} if body is not None else {})
        r = getattr(client, method)(path, **kw)
        assert 400 <= r.status_code < 500, (
            path,
            body,
            r.status_code,
            r.get_data(as_text=True)[:300],
        )
        if r.status_code in (400, 422) and path.startswith("/api/"):
            assert r.get_json()["error"].get("fields"), (path, body, r.get_json())
        db.session.rollback()
    assert [
        db.session.scalar(select(func.count()).select_from(m)) for m in (Meter, MeterReading)
    ] == before
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ExchangeBatch)
            .where(ExchangeBatch.status.in_(("promoted", "partial")))
        )
        == 0
    )
    # a file with a NUL byte fails as a batch with a Chinese reason, never a crash
    import io

    r = client.post(
        "/api/v1/exchange/files",
        headers=h,
        data={
            "kind": "meters",
            "mode": "all",
            "file": (io.BytesIO(b"enterprise,external_id\nx\x00,M\n"), "m.csv"),
        },
    )
    st = client.get(r.get_json()["status_url"], headers=h).get_json()
    assert st["status"] == "failed" and "空字符" in st["message"], st
