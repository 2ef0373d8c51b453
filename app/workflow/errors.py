"""Errors of the workflow service layer: each carries an HTTP status, a code and a Chinese
message, so the API answers ``{"error": {...}}`` and pages flash the message (never a 500)."""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    status = 400
    code = "workflow_error"

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields
        if code:
            self.code = code


class NotFound(WorkflowError):
    status, code = 404, "not_found"


class Forbidden(WorkflowError):
    status, code = 403, "forbidden"


class Conflict(WorkflowError):
    status, code = 409, "conflict"


class Invalid(WorkflowError):
    status, code = 422, "invalid"


class DeployRejected(Invalid):
    """Validation problems of a model: `problems` is a list of {file, element_id, message}."""

    code = "model_invalid"

    def __init__(self, problems: list[dict[str, Any]], *,
                 warnings: list[dict[str, Any]] | None = None,
                 unmapped_lanes: list[str] | None = None,
                 processes: list[dict[str, str]] | None = None):
        super().__init__(f"模型校验未通过，共 {len(problems)} 个问题")
        self.problems = problems
        self.warnings = warnings or []
        self.unmapped_lanes = unmapped_lanes or []
        self.processes = processes or []


STALE_MESSAGE = "该任务已被他人同时办理或流程已更新，您的提交未生效，请刷新后查看最新状态。"
