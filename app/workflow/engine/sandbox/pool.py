"""Pre-started script children and the call that runs one script in one of them.

Why a child process: a Python thread cannot be stopped, and in-process limits (signals,
tracing) can be caught by ``try``/``except`` or slip through C code (``10**10**8``). A child
with rlimits is stopped by the kernel. Children are reused (a round trip costs tens of
microseconds, see ``benchmarks/bench_scripts.py``); one that was killed or ran out of memory
is replaced on the next call. Each process (gunicorn worker, rq worker) has its own pool; a
forked process never uses its parent's children.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import protocol

CHILD = Path(__file__).with_name("child.py")


@dataclass
class Limits:
    """Per-script bounds; `configure` sets them from the application settings."""

    cpu_seconds: float = 2.0
    memory_mb: int = 256
    bounded: bool = True  # False: everything in-process (trusted deployments only)


LIMITS = Limits()


class ScriptLimitExceeded(Exception):  # noqa: N818 - the engine maps it to ScriptLimitError
    """The script was stopped: `kind` is "cpu" (or wall clock) or "memory"."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class ScriptFailed(Exception):  # noqa: N818
    """The script raised: `type_name` and `message` of its exception."""

    def __init__(self, type_name: str, message: str):
        super().__init__(message)
        self.type_name = type_name


class _Child:
    def __init__(self, memory_mb: int):
        self.memory_mb = memory_mb
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and file
            [sys.executable, "-E", "-s", "-B", str(CHILD), str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )

    def call(self, request: tuple, timeout: float) -> tuple:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - nothing sent: the child stays usable
            raise ScriptFailed("TypeError", f"任务数据无法传给脚本: {exc}") from None
        self.proc.stdin.write(len(data).to_bytes(4, "big") + data)
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buf = b""
        need = 4
        size = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, max(65536, need - len(buf)))
            if not chunk:
                raise EOFError
            buf += chunk
            if size is None and len(buf) >= 4:
                size = int.from_bytes(buf[:4], "big")
                if size > protocol.MAX_FRAME:
                    raise EOFError
                need = 4 + size
            if size is not None and len(buf) >= need:
                return protocol.decode(buf[4:need])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


class Pool:
    """Idle children of this process; a call takes one (or starts one) and gives it back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._pid = os.getpid()

    def _take(self, memory_mb: int) -> _Child:
        with self._lock:
            if self._pid != os.getpid():  # forked: those children belong to the parent
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                child = self._idle.pop()
                if child.alive() and child.memory_mb == memory_mb:
                    return child
                child.kill()
        return _Child(memory_mb)

    def _give_back(self, child: _Child) -> None:
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < 8:
                self._idle.append(child)
                return
        child.kill()

    def run(
        self,
        op: str,
        source: str,
        context: dict[str, Any],
        external: dict[str, Any] | None,
        limits: Limits | None = None,
    ) -> Any:
        """Run one checked script/expression in a child; returns the value (eval) or the
        new context (exec). Raises ScriptLimitExceeded, ScriptFailed or RefusedSource."""
        limits = limits or LIMITS
        child = self._take(limits.memory_mb)
        wall = limits.cpu_seconds + 2
        try:
            reply = child.call((op, source, context, external, limits.cpu_seconds), wall)
        except ScriptFailed:
            self._give_back(child)
            raise
        except TimeoutError:
            child.kill()
            raise ScriptLimitExceeded("cpu", _cpu_message(limits)) from None
        except pickle.PickleError as exc:  # an answer outside the plain data types
            child.kill()
            raise ScriptFailed("TypeError", f"脚本结果包含不支持的数据类型: {exc}") from None
        except (EOFError, OSError, BrokenPipeError):
            code = child.proc.poll()
            child.kill()
            code = child.proc.returncode if code is None else code
            if code in (-signal.SIGXCPU, -signal.SIGKILL):
                raise ScriptLimitExceeded("cpu", _cpu_message(limits)) from None
            raise ScriptLimitExceeded("memory", _memory_message(limits)) from None
        kind = reply[0]
        if kind == "ok":
            self._give_back(child)
            return reply[1]
        if kind == "memory":
            child.kill()
            raise ScriptLimitExceeded("memory", _memory_message(limits))
        self._give_back(child)
        if kind == "refused":
            from .restricted import RefusedSource

            raise RefusedSource(reply[1])
        raise ScriptFailed(reply[1], reply[2])

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        if self._pid == os.getpid():
            for child in idle:
                child.kill()


def _cpu_message(limits: Limits) -> str:
    return (
        f"脚本或条件运行时间超过上限（CPU {limits.cpu_seconds:g} 秒），已被终止。"
        "请简化脚本（避免死循环），复杂计算请放到服务中。"
    )


def _memory_message(limits: Limits) -> str:
    return (
        f"脚本或条件占用内存超过上限（{limits.memory_mb} MB），已被终止。请减少脚本生成的数据量。"
    )


POOL = Pool()
atexit.register(POOL.close)
