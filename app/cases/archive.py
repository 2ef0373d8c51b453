"""The archive step of the Camunda sample process (BPMN service task `sample.archive`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.workflow.engine import register_service


@register_service("sample.archive", replace=True)
def sample_archive(data: dict[str, Any]) -> dict[str, Any]:
    """Archive step of the Camunda sample process: stamps the case as archived."""
    return {"archived_at": datetime.now(UTC).isoformat(timespec="seconds")}
