"""The restricted Python subset of model scripts and conditions (standard library only).

Why stdlib only: the same module is imported by the engine (``app.workflow.engine``) and by
the bounded child process (`child.py`), which starts a bare interpreter so that a script it
runs sees nothing of the application.

Allowed: expressions, assignments, ``if``/``for``/``while``, comprehensions, f-strings,
``try``/``except``, ``del`` and the builtins in `SAFE_BUILTINS` (incl. ``datetime``, which also
works as the module spelling ``datetime.datetime.now()``). Refused before anything runs
(`check_source`): import, def/lambda/class, global/nonlocal, with, match, yield/await,
raise; any attribute starting with ``_``, any name starting with ``__``, frame/code
introspection attributes, ``mro``, ``format``/``format_map`` (a format string can read
attributes), and names like ``getattr``/``eval``/``open``.

`is_cheap` decides which checked sources may run in-process without CPU/memory bounds: short
expressions whose cost is linear in the (size-bounded) task data. Everything else runs in a
child process with rlimits (`pool.py`).
"""

from __future__ import annotations

import ast
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from types import CodeType, ModuleType
from typing import Any


class RefusedSource(Exception):  # noqa: N818 - the engine subclasses it as UnsafeExpressionError
    """A construct the restricted subset does not allow."""


class _DatetimeName(datetime):
    """``datetime`` in scripts: the class (``datetime(2024, 1, 1)``, ``datetime.now()``) and
    the module spelling SpiffArena models use (``datetime.datetime.now()``,
    ``datetime.timedelta(days=1)``). Constructors return plain `datetime` objects."""

    datetime = datetime
    date = date
    time = time
    timedelta = timedelta
    timezone = timezone

    def __new__(cls, *args: Any, **kwargs: Any) -> datetime:  # type: ignore[misc]
        return datetime(*args, **kwargs)

    now = staticmethod(datetime.now)
    utcnow = staticmethod(datetime.utcnow)
    today = staticmethod(datetime.today)
    fromisoformat = staticmethod(datetime.fromisoformat)
    strptime = staticmethod(datetime.strptime)
    fromtimestamp = staticmethod(datetime.fromtimestamp)
    combine = staticmethod(datetime.combine)


SAFE_BUILTINS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "set": set,
    "tuple": tuple,
    "sorted": sorted,
    "reversed": reversed,
    "any": any,
    "all": all,
    "range": range,
    "enumerate": enumerate,
    "zip": zip,
    "isinstance": isinstance,
    "Decimal": Decimal,
    "datetime": _DatetimeName,
    "date": date,
    "timedelta": timedelta,
    "timezone": timezone,
    "Exception": Exception,
    "ValueError": ValueError,
    "KeyError": KeyError,
    "TypeError": TypeError,
    "IndexError": IndexError,
    "ZeroDivisionError": ZeroDivisionError,
    "ArithmeticError": ArithmeticError,
    "LookupError": LookupError,
    "NameError": NameError,
    "True": True,
    "False": False,
    "None": None,
}
FORBIDDEN_NODES: dict[type, str] = {
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.Lambda: "lambda",
    ast.FunctionDef: "def",
    ast.AsyncFunctionDef: "async def",
    ast.ClassDef: "class",
    ast.Global: "global",
    ast.Nonlocal: "nonlocal",
    ast.With: "with",
    ast.AsyncWith: "async with",
    ast.AsyncFor: "async for",
    ast.Match: "match",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
    ast.Await: "await",
    ast.Raise: "raise",
}
if hasattr(ast, "TryStar"):
    FORBIDDEN_NODES[ast.TryStar] = "try/except*"
FORBIDDEN_ATTRIBUTES = frozenset(
    {
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "gi_running",
        "gi_suspended",
        "cr_frame",
        "cr_code",
        "cr_await",
        "ag_frame",
        "ag_code",
        "ag_await",
        "f_back",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_code",
        "f_trace",
        "tb_frame",
        "tb_next",
        "co_code",
        "co_consts",
        "mro",
        "format",
        "format_map",
        "with_traceback",
    }
)
# Not in the whitelist anyway (NameError at run time); refused up front for a clear message.
FORBIDDEN_NAMES = frozenset(
    {
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "eval",
        "exec",
        "compile",
        "open",
        "globals",
        "locals",
        "vars",
        "dir",
        "super",
        "breakpoint",
        "memoryview",
        "classmethod",
        "staticmethod",
    }
)
MAX_SOURCE_LENGTH = 20_000


def check_source(
    source: str, mode: str = "exec", error: type[Exception] = RefusedSource
) -> ast.AST:
    """Parse `source` and refuse unsafe constructs; SyntaxError passes through unchanged."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise error(f"表达式过长（超过 {MAX_SOURCE_LENGTH} 个字符）")
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        kind = FORBIDDEN_NODES.get(type(node))
        if kind is not None:
            raise error(f"表达式不允许使用 {kind}: {source!r}")
        if isinstance(node, ast.Attribute) and (
            node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES
        ):
            raise error(f"表达式不允许访问属性 {node.attr!r}: {source!r}")
        if isinstance(node, ast.Name) and (node.id.startswith("__") or node.id in FORBIDDEN_NAMES):
            raise error(f"表达式不允许使用名称 {node.id!r}: {source!r}")
        if isinstance(node, ast.ExceptHandler) and node.name and node.name.startswith("__"):
            raise error(f"表达式不允许使用名称 {node.name!r}: {source!r}")
    return tree


@lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str) -> CodeType:
    """Check then compile (cached: the same condition runs for every instance)."""
    return compile(check_source(source, mode), "<string>", mode)


def builtins_for(context: dict[str, Any]) -> dict[str, Any]:
    def get_value(name: str, default: Any = None) -> Any:
        """Read an optional task data variable: ``get_value("review_deadline", "P5D")``."""
        if not isinstance(name, str) or name.startswith("_"):
            raise RefusedSource(f"get_value 不允许读取 {name!r}")
        return context.get(name, default)

    return {**SAFE_BUILTINS, "get_value": get_value}


def run_eval(source: str, context: dict[str, Any], external: dict[str, Any] | None = None) -> Any:
    """Evaluate a checked expression with task data as globals and whitelisted builtins."""
    code = compile_checked(source, "eval")
    env = {k: v for k, v in (external or {}).items() if not k.startswith("__")}
    env.update((k, v) for k, v in context.items() if not k.startswith("__"))
    env["__builtins__"] = builtins_for(context)
    return eval(code, env)  # noqa: S307 - checked by check_source, whitelisted builtins


def run_exec(source: str, context: dict[str, Any], external: dict[str, Any] | None = None) -> None:
    """Run a checked script on `context` (task data) in place; afterwards only data stays
    (no builtins, functions, modules or the external context's names)."""
    code = compile_checked(source, "exec")
    added = dict(external or {})
    context.update(added)
    context["__builtins__"] = builtins_for(context)
    try:
        exec(code, context)  # noqa: S102 - checked by check_source, whitelisted builtins
    finally:
        for key in list(context):
            value = context[key]
            if (
                key.startswith("__")
                or key in added
                or callable(value)
                or isinstance(value, (ModuleType, range, enumerate, zip, reversed))
            ):
                context.pop(key)


# ---- the in-process fast path --------------------------------------------------------

MAX_CHEAP_NODES = 120
MAX_CHEAP_CONSTANT = 10_000
CHEAP_CALLS = frozenset(
    {
        "len",
        "str",
        "int",
        "float",
        "bool",
        "abs",
        "round",
        "min",
        "max",
        "sum",
        "any",
        "all",
        "sorted",
        "list",
        "dict",
        "set",
        "tuple",
        "get_value",
        "Decimal",
        "date",
        "datetime",
        "timedelta",
        "isinstance",
    }
)
CHEAP_METHODS = frozenset(
    {
        "get",
        "keys",
        "values",
        "items",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "isoformat",
        "now",
        "today",
    }
)
_CHEAP_NODES = (
    ast.Expression,
    ast.Module,
    ast.Expr,
    ast.Assign,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.Compare,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Div,
    ast.Mult,
    ast.IfExp,
    ast.Subscript,
    ast.Attribute,
    ast.Call,
    ast.keyword,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.Pass,
)


def _small_factor(node: ast.AST) -> bool:
    value = getattr(node, "value", None) if isinstance(node, ast.Constant) else None
    return isinstance(value, float) or (isinstance(value, int) and abs(value) <= 16)


def _cheap_expression(tree: ast.AST) -> bool:
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_CHEAP_NODES:
        return False
    mults = 0
    for node in nodes:
        if not isinstance(node, _CHEAP_NODES):
            return False
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, (str, bytes))
            and len(node.value) > MAX_CHEAP_CONSTANT
        ):
            return False
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            mults += 1
            if mults > 1 or not (_small_factor(node.left) or _small_factor(node.right)):
                return False
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            return False
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                if func.id not in CHEAP_CALLS or (func.id == "sum" and len(node.args) > 1):
                    return False
            elif not (isinstance(func, ast.Attribute) and func.attr in CHEAP_METHODS):
                return False
    return True


@lru_cache(maxsize=4096)
def is_cheap(source: str, mode: str) -> bool:
    """True when a checked source provably runs in time and memory linear in its inputs:
    no loops, comprehensions, powers, ``%`` formatting or format specs, at most one
    multiplication by a small constant, calls only to size-preserving builtins; a script is
    a few such assignments, none reading a name assigned before it (no doubling chains)."""
    tree = ast.parse(source, mode=mode)
    if mode == "eval":
        return _cheap_expression(tree)
    assigned: set[str] = set()
    for stmt in tree.body:  # type: ignore[attr-defined]
        if not isinstance(stmt, (ast.Assign, ast.Expr, ast.Pass)):
            return False
        value = getattr(stmt, "value", None)
        if value is not None:
            reads = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            if reads & assigned or not _cheap_expression(value):
                return False
        for target in getattr(stmt, "targets", []):
            if not isinstance(target, ast.Name):
                return False
            assigned.add(target.id)
    return True
