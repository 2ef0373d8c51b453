"""Scripts: the cost of bounding (child process with rlimits) against in-process evaluation,
and the in-process fast path that plain conditions take.

Measured on one process: a condition on the fast path, the same condition forced into the
bounded child, a loop script in the child, and an engine run of the shipped review model
(its conditions and scripts are all on the fast path, so the bound does not cost the
workflow throughput goal of benchmarks/bench_workflow.py).
"""

from __future__ import annotations

import time


def _rate(fn, seconds: float = 1.0) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def run() -> list[dict]:
    from app.workflow.engine import RestrictedScriptEngine
    from app.workflow.engine.sandbox import LIMITS, POOL
    from app.workflow.engine.sandbox.restricted import run_eval as restricted_run_eval

    engine = RestrictedScriptEngine(services={})
    env = engine.environment
    data = {"decision": "approve", "amount": 150, "items": [{"v": i} for i in range(20)]}
    cond = 'decision == "approve" and amount > 100'
    fast = _rate(lambda: env.evaluate(cond, data))
    plain = _rate(lambda: restricted_run_eval(cond, data))
    POOL.run("eval", cond, dict(data), {})  # start the child
    bounded = _rate(lambda: POOL.run("eval", cond, dict(data), {}))
    loop = "total = 0\nfor item in items:\n    total += item['v']"
    looped = _rate(lambda: env.execute(loop, dict(data)))
    old = LIMITS.bounded
    LIMITS.bounded = False
    try:
        looped_inproc = _rate(lambda: env.execute(loop, dict(data)))
    finally:
        LIMITS.bounded = old
    from app.workflow import engine as wf_engine
    from app.workflow.deploy import builtin_files
    from app.workflow.engine.data_limit import BOUND
    from benchmarks.bench_workflow import _spiff_steps

    cases, on, off = 40, [], []
    old_bound, old_bounded = BOUND.max_bytes, LIMITS.bounded
    try:
        for _ in range(3):  # alternate, best of three: the machine is shared
            BOUND.max_bytes, LIMITS.bounded = old_bound, True
            on.append(_spiff_steps(cases, wf_engine, builtin_files))
            BOUND.max_bytes, LIMITS.bounded = 0, False
            off.append(_spiff_steps(cases, wf_engine, builtin_files))
    finally:
        BOUND.max_bytes, LIMITS.bounded = old_bound, old_bounded
    bounded_steps, unbounded_steps = max(on), max(off)
    return [
        {
            "measure": "review task completions in memory, bounds on (data 1 MB, scripts)",
            "value": bounded_steps,
            "unit": "completions/s",
            "baseline": "same with bounds off",
            "baseline_value": unbounded_steps,
            "note": "the shipped model's conditions/scripts take the fast path",
        },
        {
            "measure": "condition, fast path (checked, in-process)",
            "value": fast,
            "unit": "evals/s",
            "baseline": "unchecked restricted eval",
            "baseline_value": plain,
        },
        {
            "measure": "condition forced into the bounded child",
            "value": bounded,
            "unit": "evals/s",
            "baseline": "fast path",
            "baseline_value": fast,
            "note": "pipe round trip + pickle; rlimits CPU/AS",
        },
        {
            "measure": "loop script (20 rows) in the bounded child",
            "value": looped,
            "unit": "runs/s",
            "baseline": "same script in-process (unbounded)",
            "baseline_value": looped_inproc,
        },
    ]
