"""The bounded script child: a bare interpreter that runs checked scripts, one at a time.

Started by `pool.py` as ``python -E -s child.py <memory_mb>`` (so it imports only the standard
library and `restricted`, from this folder). Address space is capped once at start
(RLIMIT_AS = its size at start + the memory limit); before each script the CPU soft limit is
set to the CPU already used + the script's allowance (RLIMIT_CPU counts the whole process),
so a runaway script is killed by SIGXCPU, which no ``try``/``except`` can catch. Cores are
off. The parent also enforces a wall-clock timeout and kills the child on expiry.
"""

from __future__ import annotations

import math
import os
import resource
import sys

import protocol
import restricted


def _vm_size() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _handle(request: tuple) -> tuple:
    op, source, context, external, cpu_seconds = request
    used = _cpu_used()
    soft = max(math.floor(used + cpu_seconds), math.floor(used) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
    try:
        if op == "eval":
            return ("ok", restricted.run_eval(source, context, external))
        restricted.run_exec(source, context, external)
        return ("ok", context)
    except MemoryError:
        return ("memory", "")
    except restricted.RefusedSource as exc:
        return ("refused", str(exc))
    except Exception as exc:  # noqa: BLE001 - the script's own error goes back to the engine
        return ("error", type(exc).__name__, str(exc))


def main() -> None:
    memory = int(sys.argv[1]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory > 0:
        limit = _vm_size() + memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing a script does may write into the protocol stream
    while True:
        try:
            request = protocol.read_frame(stdin)
        except EOFError:
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a value type outside the whitelist
            protocol.write_frame(stdout, ("error", "TypeError", f"任务数据无法传给脚本: {exc}"))
            continue
        reply = _handle(request)
        try:
            protocol.write_frame(stdout, reply)
        except MemoryError:
            protocol.write_frame(stdout, ("memory", ""))
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable value left in data
            protocol.write_frame(stdout, ("error", type(exc).__name__, str(exc)))
        if reply[0] == "memory":
            os._exit(0)  # a fresh child for the next script


if __name__ == "__main__":
    main()
