"""The restricted script engine: escapes refused before running, normal expressions work."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from app.workflow.engine import (
    RestrictedScriptEngine,
    ServiceError,
    UnsafeExpressionError,
    check_source,
    register_service,
    registered_services,
    unregister_service,
)
from app.workflow.engine.script_engine import SAFE_BUILTINS, compile_restricted


def task(**data):
    return SimpleNamespace(data=data)


ENGINE = RestrictedScriptEngine(services={})

ESCAPES = [
    ("().__class__.__mro__[1].__subclasses__()", "__class__"),
    ("__import__('os')", "__import__"),
    ("getattr(x, '__class__')", "getattr"),
    ("import os", "import"),
    ("from os import system", "import"),
    ("(lambda: 0).__globals__", "lambda"),
    ("(lambda f: f)(1)", "lambda"),
    ('f"{().__class__.__base__}"', "__class__"),
    ('"{0.__class__}".format(x)', "format"),
    ('"{x.__class__}".format_map({"x": 1})', "format_map"),
    ("[g.gi_frame.f_back.f_globals for g in [(i for i in [1])]]", "gi_frame"),
    ("int.mro()", "mro"),
    ("__builtins__", "__builtins__"),
    ("x._private", "_private"),
    ("eval('1')", "eval"),
    ("open('/etc/passwd')", "open"),
    ("globals()", "globals"),
]


@pytest.mark.parametrize(("source", "word"), ESCAPES)
def test_escape_attempts_are_refused_before_running(source, word):
    with pytest.raises(UnsafeExpressionError) as info:
        ENGINE.evaluate(task(x=1), source) if "import" not in source else ENGINE.execute(
            task(x=1), source)
    assert word in str(info.value)


@pytest.mark.parametrize("script", [
    "def f():\n    return 1",
    "class A:\n    pass",
    "global x\nx = 1",
    "raise ValueError('x')",
    "match x:\n    case object(__class__=c):\n        pass",
    "with x:\n    pass",
    "try:\n    x = 1\nexcept* ValueError:\n    pass",
    "try:\n    x = 1\nexcept Exception as e:\n    y = e.with_traceback",
])
def test_statements_that_could_escape_are_refused(script):
    with pytest.raises(UnsafeExpressionError):
        check_source(script, "exec")


def test_refusal_is_not_a_syntax_error():
    # Spiff's DMN engine swallows SyntaxError from validate(); a refusal must surface.
    with pytest.raises(UnsafeExpressionError):
        ENGINE.validate("x.__class__")
    with pytest.raises(SyntaxError):
        ENGINE.validate("> 100")


def test_builtins_are_whitelisted_at_run_time():
    # `print` is not refused by the AST check but is not there either.
    with pytest.raises(NameError, match="print"):
        ENGINE.environment.evaluate("print(1)", {})
    # Even with the AST check bypassed, getattr/__import__ are absent from the builtins.
    for source in ("getattr(1, 'real')", "__import__('os')"):
        with pytest.raises(NameError):
            eval(compile(source, "<s>", "eval"), {"__builtins__": dict(SAFE_BUILTINS)})  # noqa: S307
    with pytest.raises(UnsafeExpressionError):
        ENGINE.environment.evaluate("get_value('__builtins__')", {})


def test_data_cannot_inject_builtins():
    assert ENGINE.evaluate(task(__builtins__={"x": 1}, amount=5), "amount > 1") is True


@pytest.mark.parametrize(("expr", "data", "expected"), [
    ('decision == "approve"', {"decision": "approve"}, True),
    ("amount > 100", {"amount": 150}, True),
    ("amount > 100", {"amount": 50}, False),
    ('${decision == "return"}', {"decision": "return"}, True),
    ("len(items) == 2 and sum(i['v'] for i in items) == 3", {"items": [{"v": 1}, {"v": 2}]},
     True),
    ("max(a, b) + abs(-1) + round(1.26, 1)", {"a": 1, "b": 2}, 4.3),
    ('Decimal("1.10") * 2', {}, Decimal("2.20")),
    ("(datetime(2024, 1, 31) + timedelta(days=1)).month", {}, 2),
    ('get_value("review_deadline", "P5D")', {}, "P5D"),
    ('get_value("review_deadline", "P5D")', {"review_deadline": "PT1H"}, "PT1H"),
    ("sorted(xs)[0] if any(xs) and all(xs) else None", {"xs": [3, 1]}, 1),
    ('str(int(float("2.5"))) + str(bool(1))', {}, "2True"),
    ('f"{name}-{n:03d}"', {"name": "a", "n": 7}, "a-007"),
    ('list(dict(a=1)) == ["a"]', {}, True),
])
def test_normal_expressions_work(expr, data, expected):
    assert ENGINE.evaluate(task(**data), expr) == expected


def test_scripts_update_task_data_and_leave_no_callables():
    t = task(amount=Decimal("10"))
    ENGINE.execute(t, "total = amount * 2\nf = len\nstamp = datetime(2024, 1, 1)")
    assert t.data == {"amount": Decimal("10"), "total": Decimal("20"),
                      "stamp": datetime(2024, 1, 1)}


def test_compile_is_cached():
    compile_restricted.cache_clear()
    for _ in range(3):
        ENGINE.evaluate(task(a=1), "a == 1")
    assert compile_restricted.cache_info().hits >= 2


def test_services_are_called_by_name_with_task_data_and_params():
    seen = {}

    def svc(data, stage=""):
        seen.update(data=data, stage=stage)
        data["mutated"] = True  # a copy: must not leak into the task
        return {"ok": True, "amount": Decimal("1.5"), "when": datetime(2024, 1, 1)}

    engine = RestrictedScriptEngine(services={"x.svc": svc})
    t = task(a=1)
    out = engine.call_service(t, operation_name="x.svc",
                              operation_params={"stage": {"value": "s1", "type": "str"}})
    assert seen == {"data": {"a": 1, "mutated": True}, "stage": "s1"}
    assert t.data == {"a": 1}
    assert out == '{"ok": true, "amount": "1.5", "when": "2024-01-01T00:00:00"}'


def test_unknown_and_bad_services_raise_service_error():
    engine = RestrictedScriptEngine(services={"bad": lambda data: [1], "boom": lambda data: 1 / 0})
    with pytest.raises(ServiceError, match="未注册的服务: nope"):
        engine.call_service(task(), operation_name="nope")
    with pytest.raises(ServiceError, match="必须返回 dict"):
        engine.call_service(task(), operation_name="bad")
    with pytest.raises(ServiceError, match="执行失败") as info:
        engine.call_service(task(), operation_name="boom")
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    with pytest.raises(ServiceError, match="未注册的服务"):
        RestrictedScriptEngine().call_service(task(), operation_name="no.such.service")


def test_register_service_decorator():
    @register_service("test.echo")
    def echo(data):
        return {"echo": data.get("v")}

    try:
        assert "test.echo" in registered_services()
        out = RestrictedScriptEngine().call_service(task(v=3), operation_name="test.echo")
        assert out == '{"echo": 3}'
        with pytest.raises(ServiceError, match="已注册"):
            register_service("test.echo")(lambda data: {})
        register_service("test.echo", replace=True)(lambda data: {"echo": "new"})
        assert RestrictedScriptEngine().call_service(task(), operation_name="test.echo") == \
            '{"echo": "new"}'
    finally:
        unregister_service("test.echo")
    assert "test.echo" not in registered_services()


def test_builtin_services_are_registered():
    assert {"report.self_check", "report.publish", "case.remind"} <= registered_services()
    engine = RestrictedScriptEngine()
    assert engine.call_service(task(self_check_result={"passed": False}),
                               operation_name="report.self_check") == \
        '{"self_check": {"passed": false}}'
