"""Issue 11, point 9: every date-time the API answers carries its time zone, as the OpenAPI
document's `date-time` says (the database keeps naive UTC)."""

from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, fields

from app.schema_fields import UtcDateTime


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_schema_date_time_carries_its_zone(app):
    """No schema of the platform uses a bare DateTime (which would print naive values)."""
    bare = [f"{s.__module__}.{s.__name__}.{name}"
            for s in _subclasses(Schema) if s.__module__.startswith("app.")
            for name, f in s._declared_fields.items()
            if isinstance(f, fields.DateTime) and not isinstance(f, UtcDateTime)]
    assert bare == []
    out = UtcDateTime().serialize("at", {"at": datetime(2026, 12, 5, 8, 0)})
    assert out == "2026-12-05T08:00:00+00:00"
    assert UtcDateTime().deserialize("2026-12-05T16:00:00+08:00").utcoffset().total_seconds() \
        == 8 * 3600
    assert UtcDateTime().deserialize("2026-12-05T08:00:00").tzinfo is not None


def test_a_process_model_listing_answers_aware_date_times(client, make_user, auth):
    from app.uow import commit
    from app.workflow import deploy

    deploy.deploy_builtins()
    commit()
    body = client.get("/api/v1/process-models", headers=auth(make_user("admin"))).get_json()
    items = body["items"] if isinstance(body, dict) else body
    stamps = [v["deployed_at"] for m in items for v in m["versions"] if v.get("deployed_at")]
    assert stamps and all(datetime.fromisoformat(s).tzinfo is not None for s in stamps)
