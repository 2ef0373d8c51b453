"""Every operation documents its success response (an apispec plugin).

Why: an operation that declares no 2xx response would have its successful answers checked
against the default (error) response by clients and by the schemathesis run; such an
operation answers JSON of its own shape, so it is documented as a JSON object."""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

_ANY_JSON = {"description": "OK", "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": True}}}}


class SuccessResponsePlugin(BasePlugin):
    def operation_helper(self, path: str | None = None,
                         operations: dict[str, Any] | None = None, **kwargs: Any) -> None:
        for op in (operations or {}).values():
            if not isinstance(op, dict):
                continue
            responses = op.setdefault("responses", {})
            if not any(str(code).startswith("2") for code in responses):
                responses["200"] = dict(_ANY_JSON)
