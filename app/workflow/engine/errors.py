"""Exceptions raised by the workflow engine layer.

They are plain Python exceptions (no Flask, no DB) so that the HTTP and persistence layers can
map them to status codes and messages; every message is Chinese first because it may be shown
to a designer or a reviewer.
"""

from __future__ import annotations

from .sandbox.restricted import RefusedSource


class EngineError(Exception):
    """Base class of every error raised on purpose by `app.workflow.engine`."""


class ModelError(EngineError):
    """A BPMN/DMN model cannot be loaded (unsafe XML, parse error, no executable process)."""

    def __init__(self, message: str, *, file: str | None = None, element_id: str | None = None):
        super().__init__(message)
        self.file = file
        self.element_id = element_id


class UnsafeExpressionError(EngineError, RefusedSource):
    """An expression or script uses a construct the restricted engine refuses.

    Deliberately not a `SyntaxError`: SpiffWorkflow's DMN engine catches `SyntaxError` from
    `validate()` to decide how to build a comparison, and a refusal must never be swallowed.
    """


class ScriptLimitError(EngineError):
    """A script or condition was stopped for exceeding its CPU time or memory bound, or the
    task data grew beyond its bound; the instance goes to its error state with this text."""

    def __init__(self, message: str, *, kind: str = "cpu"):
        super().__init__(message)
        self.kind = kind


class ServiceError(EngineError):
    """A service task named an unknown service, or the service returned something unusable."""


class TaskNotReady(EngineError):
    """The task does not exist, is not a human task, or is not READY any more."""


class FormValidationError(EngineError):
    """Submitted task data does not satisfy the task's form; `errors` maps field -> message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("表单校验未通过: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class FormNotFound(EngineError, LookupError):
    """No form file with that name (or the name is not a safe file name)."""
