"""The shared input guards of /api/v1 (issue 11, point 9): NUL bytes, integers beyond a
column's range and the OpenAPI document's description of what the endpoints return."""

from __future__ import annotations

from sqlalchemy import select

from app.workflow.models import ProcessInstance


def test_nul_bytes_are_a_422_naming_the_field(client, reference):
    r = client.post("/api/v1/auth/token", json={"email": "a\x00@t.cecp", "password": "x"})
    assert r.status_code == 422
    assert "email" in r.get_json()["error"]["fields"]
    r = client.get("/api/v1/countries/emissions?countries=CH\x00N")
    assert r.status_code == 422 and "countries" in r.get_json()["error"]["fields"]


def test_an_integer_beyond_the_column_is_a_422_not_a_500(client, make_user, auth, db):
    admin = make_user("admin")
    r = client.get("/api/v1/process-instances/99999999999", headers=auth(admin))
    assert r.status_code in (404, 422), r.get_data(as_text=True)
    if r.status_code == 422:
        assert r.get_json()["error"]["fields"]
    # the session is usable afterwards (the failed statement was rolled back)
    assert db.session.scalars(select(ProcessInstance)).all() == []


def test_the_document_describes_the_real_responses(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    error = spec["components"]["schemas"]["ApiError"]
    assert error["required"] == ["error"]
    body = spec["components"]["schemas"]["ErrorBody"]["properties"]
    assert {"code", "message", "fields"} <= set(body)
    metrics = spec["paths"]["/api/v1/metrics"]["get"]["responses"]["200"]["content"]
    assert "text/plain" in metrics
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert any(str(c).startswith("2") for c in op["responses"]), (method, path)
