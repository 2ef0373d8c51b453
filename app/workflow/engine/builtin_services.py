"""Placeholder implementations of the services the shipped process models call.

They keep the models runnable end to end before the real domain code exists; a domain
package replaces one by registering the same name with ``register_service(name, replace=True)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .script_engine import register_service


@register_service("report.self_check")
def report_self_check(data: dict[str, Any]) -> dict[str, Any]:
    """Self-check of an enterprise report. Placeholder: passes through
    ``data["self_check_result"]`` when the caller computed it, else reports no findings."""
    result = data.get("self_check_result")
    if result is None:
        result = {"passed": True, "warnings": [], "errors": []}
    return {"self_check": result}


@register_service("report.publish")
def report_publish(data: dict[str, Any]) -> dict[str, Any]:
    """Publish an approved report. Placeholder: only records the request; the cases layer
    does the publishing (PDF, signature) through its outbox."""
    return {"publish_requested_at": datetime.now(UTC).isoformat()}


@register_service("case.remind")
def case_remind(data: dict[str, Any], stage: str = "") -> dict[str, Any]:
    """Deadline reminder for a review stage. Placeholder: records the reminder in the
    reminder branch's data; notifications come from the persistence layer's outbox."""
    return {"last_reminder": {"stage": stage,
                              "at": datetime.now(UTC).isoformat()}}


@register_service("verification.required")
def verification_required(data: dict[str, Any]) -> dict[str, Any]:
    """Does the report need third-party verification? Placeholder: only when the reviewer
    asked for it; `app.verification` adds the key-emitter rule."""
    asked = bool(data.get("require_verification"))
    return {"verification_required": asked,
            "verification_reason": "初审要求第三方核查" if asked else None}


@register_service("verification.request")
def verification_request(data: dict[str, Any]) -> dict[str, Any]:
    """Start the verification case. Placeholder: records the request; `app.verification`
    starts the third-party verification process."""
    return {"verification_requested_at": datetime.now(UTC).isoformat()}
