"""A restricted script engine for BPMN conditions, scripts, timers and DMN cells, and the
registry of named Python services that service tasks call.

Why: SpiffWorkflow's `PythonScriptEngine` runs `eval`/`exec` with full builtins, and even
SpiffArena's "restricted" variant let `().__class__.__mro__[1].__subclasses__()` through. Models
are uploaded by designers, so every expression is parsed and its AST checked *before* anything
runs (`sandbox.restricted.check_source`: the allowed subset and what is refused), and it then
runs with a small whitelist of builtins. Camunda's ``${...}`` wrapper is accepted and removed;
the inside must be Python (``decision == "approve"``).

CPU and memory are bounded: a source that is not provably cheap (`sandbox.is_cheap`: loops,
comprehensions, powers...) runs in a pre-started child process under RLIMIT_CPU/RLIMIT_AS and
a wall-clock timeout (`sandbox.pool`); a runaway script raises `ScriptLimitError` and the
instance goes to its error state. Plain conditions (``decision == "approve"``) and simple
assignments stay in-process, so the review throughput is unchanged.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping
from copy import deepcopy
from datetime import date, datetime
from decimal import Decimal
from types import CodeType
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from .bpmn_xml import unwrap
from .errors import ScriptLimitError, ServiceError, UnsafeExpressionError
from .sandbox import (
    LIMITS,
    POOL,
    RefusedSource,
    ScriptFailed,
    ScriptLimitExceeded,
    is_cheap,
    restricted,
)
from .sandbox.restricted import (  # noqa: F401 - re-exported (tests, validation)
    FORBIDDEN_ATTRIBUTES,
    FORBIDDEN_NAMES,
    FORBIDDEN_NODES,
    MAX_SOURCE_LENGTH,
    SAFE_BUILTINS,
)

_RAISABLE = {name: getattr(builtins, name) for name in (
    "NameError", "KeyError", "TypeError", "ValueError", "IndexError", "ZeroDivisionError",
    "AttributeError", "ArithmeticError", "LookupError", "OverflowError", "RecursionError",
    "UnboundLocalError", "AssertionError", "StopIteration")}


def check_source(source: str, mode: str = "exec") -> Any:
    """Parse `source` and refuse unsafe constructs; SyntaxError passes through unchanged."""
    return restricted.check_source(source, mode, UnsafeExpressionError)


def compile_restricted(source: str, mode: str) -> CodeType:
    """Check then compile (cached: the same condition runs for every instance)."""
    try:
        return restricted.compile_checked(source, mode)
    except UnsafeExpressionError:
        raise
    except RefusedSource as exc:
        raise UnsafeExpressionError(str(exc)) from None


compile_restricted.cache_clear = restricted.compile_checked.cache_clear  # type: ignore[attr-defined]
compile_restricted.cache_info = restricted.compile_checked.cache_info  # type: ignore[attr-defined]


def _bounded(source: str, mode: str) -> bool:
    return LIMITS.bounded and not is_cheap(source, mode)


def _in_child(op: str, source: str, context: dict[str, Any],
              external: dict[str, Any] | None) -> Any:
    clean = {k: v for k, v in context.items() if not k.startswith("__")}
    extra = {k: v for k, v in (external or {}).items()
             if not k.startswith("__") and not callable(v)}
    try:
        return POOL.run(op, source, clean, extra)
    except ScriptLimitExceeded as exc:
        raise ScriptLimitError(str(exc), kind=exc.kind) from None
    except RefusedSource as exc:
        raise UnsafeExpressionError(str(exc)) from None
    except ScriptFailed as exc:
        raise _RAISABLE.get(exc.type_name, RuntimeError)(str(exc)) from None


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates with the whitelist as ``__builtins__`` and task data as globals; sources
    that are not provably cheap run in a bounded child process."""

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        source = unwrap(expression) or "None"
        compile_restricted(source, "eval")
        if _bounded(source, "eval"):
            return _in_child("eval", source, context, external_context)
        try:
            return restricted.run_eval(source, context, external_context)
        except UnsafeExpressionError:
            raise
        except RefusedSource as exc:
            raise UnsafeExpressionError(str(exc)) from None

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        compile_restricted(script, "exec")
        if _bounded(script, "exec"):
            result = _in_child("exec", script, context, external_context)
            context.clear()
            context.update(result)
            return True
        try:
            restricted.run_exec(script, context, external_context)
        except UnsafeExpressionError:
            raise
        except RefusedSource as exc:
            raise UnsafeExpressionError(str(exc)) from None
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> str:
        raise ServiceError("请通过 RestrictedScriptEngine.call_service 调用服务")


# ---- service registry ------------------------------------------------------------------

Service = Callable[..., Mapping[str, Any] | None]
_SERVICES: dict[str, Service] = {}


def register_service(name: str, *, replace: bool = False) -> Callable[[Service], Service]:
    """Decorator: make `fn(data: dict, **params) -> dict | None` callable from service tasks.

    `data` is a deep copy of the task data; the returned dict is merged into the task data, so
    it must be JSON-compatible (Decimal and dates are turned into strings). Registering a name
    twice is an error unless `replace=True` (a real implementation replacing a placeholder).
    """
    def decorator(fn: Service) -> Service:
        if name in _SERVICES and not replace and _SERVICES[name] is not fn:
            raise ServiceError(f"服务名已注册: {name}")
        _SERVICES[name] = fn
        return fn
    return decorator


def unregister_service(name: str) -> None:
    """Remove a service (tests)."""
    _SERVICES.pop(name, None)


def registered_services() -> frozenset[str]:
    """Names of all registered services (pass as `known_services` to `validate_model`)."""
    return frozenset(_SERVICES)


def get_service(name: str) -> Service:
    try:
        return _SERVICES[name]
    except KeyError:
        raise ServiceError(f"未注册的服务: {name}") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"服务返回值不能转换为 JSON: {type(value).__name__}")


def _reraise_limit(exc: WorkflowTaskException, task: Any) -> None:
    """Spiff wraps every script error as "ScriptLimitError:<text>"; keep our text clean."""
    cause = getattr(exc, "exception", None)
    if isinstance(cause, ScriptLimitError):
        raise WorkflowTaskException(str(cause), task=task, exception=cause) from cause


class RestrictedScriptEngine(PythonScriptEngine):
    """The only script engine cecp uses; set it again after every deserialization.

    `services` overrides the global registry (tests, sandboxes); by default the registry is
    read at call time, so services registered after the engine was built are found.
    """

    def __init__(self, services: Mapping[str, Service] | None = None):
        super().__init__(environment=RestrictedEnvironment())
        self.services = services

    def has_service(self, name: str) -> bool:
        """Is `name` implemented here (external tasks with such a topic run in-process)?"""
        return name in (self.services if self.services is not None else _SERVICES)

    def validate(self, expression: str) -> None:
        check_source(unwrap(expression) or "", "exec")

    def evaluate(self, task: Any, expression: str,
                 external_context: dict[str, Any] | None = None) -> Any:
        # Checked here, outside Spiff's wrapping, so a refusal surfaces as UnsafeExpressionError.
        compile_restricted(unwrap(expression) or "None", "eval")
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as exc:
            _reraise_limit(exc, task)
            raise

    def execute(self, task: Any, script: str,
                external_context: dict[str, Any] | None = None) -> bool:
        compile_restricted(script, "exec")
        try:
            return super().execute(task, script, external_context)
        except WorkflowTaskException as exc:
            _reraise_limit(exc, task)
            raise

    def call_service(self, task: Any, operation_name: str | None = None,
                     operation_params: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
        """Call the named service with a copy of the task data; return its dict as JSON.

        SpiffWorkflow 3.2 calls ``call_service(task, operation_name=..., operation_params=...)``
        with params as ``{name: {"value": ..., "type": ...}}`` and expects a JSON string back.
        """
        name = operation_name or ""
        if self.services is not None:
            fn = self.services.get(name)
            if fn is None:
                raise ServiceError(f"未注册的服务: {name}")
        else:
            fn = get_service(name)
        params = {k: v["value"] if isinstance(v, dict) and "value" in v else v
                  for k, v in (operation_params or {}).items()}
        try:
            result = fn(deepcopy(task.data), **params)
        except ServiceError:
            raise
        except Exception as exc:
            raise ServiceError(f"服务 {name} 执行失败: {exc}") from exc
        if result is not None and not isinstance(result, Mapping):
            raise ServiceError(f"服务 {name} 必须返回 dict，实际为 {type(result).__name__}")
        return json.dumps(dict(result or {}), ensure_ascii=False, default=_json_default)
