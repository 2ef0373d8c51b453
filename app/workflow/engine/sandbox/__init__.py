"""Bounded evaluation of model scripts: the restricted subset (`restricted`), the child
process that runs non-trivial scripts under CPU and memory rlimits (`child`), and the pool
of such children (`pool`)."""

from .pool import LIMITS, POOL, Limits, ScriptFailed, ScriptLimitExceeded
from .restricted import RefusedSource, check_source, compile_checked, is_cheap

__all__ = [
    "LIMITS",
    "POOL",
    "Limits",
    "RefusedSource",
    "ScriptFailed",
    "ScriptLimitExceeded",
    "check_source",
    "compile_checked",
    "is_cheap",
]
