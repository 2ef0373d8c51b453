"""Marshmallow fields every domain's schemas share (a foundation module: any layer may use it)."""

from __future__ import annotations

from datetime import UTC

from marshmallow import fields


class UtcDateTime(fields.DateTime):
    """A date-time that always carries its zone: the database keeps naive UTC, so a naive
    value is UTC on the way out ("2026-12-05T08:00:00+00:00", as the OpenAPI document's
    `date-time` requires) and a naive input is read as UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        out = super()._deserialize(value, attr, data, **kwargs)
        return out.replace(tzinfo=UTC) if out.tzinfo is None else out
