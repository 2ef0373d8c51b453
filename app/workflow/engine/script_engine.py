"""A restricted script engine for BPMN conditions, scripts, timers and DMN cells, and the
registry of named Python services that service tasks call.

Why: SpiffWorkflow's `PythonScriptEngine` runs `eval`/`exec` with full builtins, and even
SpiffArena's "restricted" variant let `().__class__.__mro__[1].__subclasses__()` through. Models
are uploaded by designers, so every expression is parsed and its AST checked *before* anything
runs, and it then runs with a small whitelist of builtins. Real logic belongs in services.

Rules (see `check_source`): no import, no def/lambda/class, no global/nonlocal, no try/with,
no match, no yield/await; no attribute starting with ``_``; no name starting with ``__``, no
``getattr``/``eval``/``open``/``globals``... (not available anyway); no frame/code introspection
attributes (``gi_frame``, ``f_globals``...), no ``mro``, no
``format``/``format_map`` (a format string can read attributes). Camunda's ``${...}`` wrapper is
accepted and removed; the inside must be Python (``decision == "approve"``).

Not covered: CPU and memory (``10**10**9`` still runs); keep expressions short, put loops in
services.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping
from copy import deepcopy
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from types import CodeType, ModuleType
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from .bpmn_xml import unwrap
from .errors import ServiceError, UnsafeExpressionError

SAFE_BUILTINS: dict[str, Any] = {
    "len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round,
    "int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict,
    "sorted": sorted, "any": any, "all": all,
    "Decimal": Decimal, "datetime": datetime, "date": date, "timedelta": timedelta,
    "True": True, "False": False, "None": None,
}
FORBIDDEN_NODES: dict[type, str] = {
    ast.Import: "import", ast.ImportFrom: "import", ast.Lambda: "lambda",
    ast.FunctionDef: "def", ast.AsyncFunctionDef: "async def", ast.ClassDef: "class",
    ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Try: "try", ast.With: "with",
    ast.AsyncWith: "async with", ast.AsyncFor: "async for", ast.Match: "match",
    ast.Yield: "yield", ast.YieldFrom: "yield from", ast.Await: "await", ast.Raise: "raise",
    ast.Delete: "del",
}
if hasattr(ast, "TryStar"):
    FORBIDDEN_NODES[ast.TryStar] = "try"
FORBIDDEN_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended", "cr_frame", "cr_code",
    "cr_await", "ag_frame", "ag_code", "ag_await", "f_back", "f_globals", "f_locals",
    "f_builtins", "f_code", "f_trace", "tb_frame", "tb_next", "co_code", "co_consts", "mro",
    "format", "format_map",
})
# Not in the whitelist anyway (NameError at run time); refused up front for a clear message.
# Names a data field is unlikely to have (``type``, ``input``... stay usable as data keys).
FORBIDDEN_NAMES = frozenset({
    "getattr", "setattr", "delattr", "hasattr", "eval", "exec", "compile", "open", "globals",
    "locals", "vars", "dir", "super", "breakpoint", "memoryview", "classmethod", "staticmethod",
})
MAX_SOURCE_LENGTH = 20_000


def check_source(source: str, mode: str = "exec") -> ast.AST:
    """Parse `source` and refuse unsafe constructs; SyntaxError passes through unchanged."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise UnsafeExpressionError(f"表达式过长（超过 {MAX_SOURCE_LENGTH} 个字符）")
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        kind = FORBIDDEN_NODES.get(type(node))
        if kind is not None:
            raise UnsafeExpressionError(f"表达式不允许使用 {kind}: {source!r}")
        if isinstance(node, ast.Attribute) and (
                node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES):
            raise UnsafeExpressionError(f"表达式不允许访问属性 {node.attr!r}: {source!r}")
        if isinstance(node, ast.Name) and (node.id.startswith("__")
                                           or node.id in FORBIDDEN_NAMES):
            raise UnsafeExpressionError(f"表达式不允许使用名称 {node.id!r}: {source!r}")
    return tree


@lru_cache(maxsize=4096)
def compile_restricted(source: str, mode: str) -> CodeType:
    """Check then compile (cached: the same condition runs for every instance)."""
    tree = check_source(source, mode)
    return compile(tree, "<string>", mode)


def _builtins_for(context: Mapping[str, Any]) -> dict[str, Any]:
    def get_value(name: str, default: Any = None) -> Any:
        """Read an optional task data variable: ``get_value("review_deadline", "P5D")``."""
        if not isinstance(name, str) or name.startswith("_"):
            raise UnsafeExpressionError(f"get_value 不允许读取 {name!r}")
        return context.get(name, default)

    return {**SAFE_BUILTINS, "get_value": get_value}


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates with the whitelist as ``__builtins__`` and task data as globals."""

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        code = compile_restricted(unwrap(expression) or "None", "eval")
        env = {k: v for k, v in (external_context or {}).items() if not k.startswith("__")}
        env.update((k, v) for k, v in context.items() if not k.startswith("__"))
        env["__builtins__"] = _builtins_for(context)
        return eval(code, env)  # noqa: S307 - checked by check_source, whitelisted builtins

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        code = compile_restricted(script, "exec")
        added = dict(external_context or {})
        context.update(added)
        context["__builtins__"] = _builtins_for(context)
        try:
            exec(code, context)  # noqa: S102 - checked by check_source, whitelisted builtins
        finally:
            for key in list(context):
                value = context[key]
                if key.startswith("__") or key in added or callable(value) or isinstance(
                        value, ModuleType):
                    context.pop(key)
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


class RestrictedScriptEngine(PythonScriptEngine):
    """The only script engine cecp uses; set it again after every deserialization.

    `services` overrides the global registry (tests, sandboxes); by default the registry is
    read at call time, so services registered after the engine was built are found.
    """

    def __init__(self, services: Mapping[str, Service] | None = None):
        super().__init__(environment=RestrictedEnvironment())
        self.services = services

    def validate(self, expression: str) -> None:
        check_source(unwrap(expression) or "", "exec")

    def evaluate(self, task: Any, expression: str,
                 external_context: dict[str, Any] | None = None) -> Any:
        # Checked here, outside Spiff's wrapping, so a refusal surfaces as UnsafeExpressionError.
        compile_restricted(unwrap(expression) or "None", "eval")
        return super().evaluate(task, expression, external_context)

    def execute(self, task: Any, script: str,
                external_context: dict[str, Any] | None = None) -> bool:
        compile_restricted(script, "exec")
        return super().execute(task, script, external_context)

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
