"""Private services for the load, overload, N-node and fault runs (benchmarks and tests).

Everything listens on 127.0.0.1 only, on ports from `CECP_PORT_RANGE` (default
17000-17999), and is started and stopped by the caller: gunicorn nodes with the shipped
`gunicorn.conf.py`, HAProxy with a generated configuration, etcd, redis-server, and a
private PostgreSQL cluster (`initdb` + `pg_ctl` from /usr/lib/postgresql/*/bin, run as the
`postgres` user when we are root) that a fault run may restart — never a shared one.
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {
    "CECP_MASTER_KEY": "00112233445566778899aabbccddeeff",
    "CECP_SECRET_KEY": "bench-secret-key-" + "5" * 48,
    "CECP_PASSWORD_SALT": "bench-password-salt-0123456789abcdef",
    "CECP_TOTP_SECRET": "bench-totp-secret-" + "7" * 47,
}
_used: set[int] = set()


def port_range() -> tuple[int, int]:
    lo, _, hi = os.environ.get("CECP_PORT_RANGE", "17000-17999").partition("-")
    return int(lo), int(hi)


def free_port() -> int:
    """A port of the range that nothing listens on (and that we have not handed out)."""
    lo, hi = port_range()
    ports = list(range(lo, hi + 1))
    random.shuffle(ports)
    for port in ports:
        if port in _used:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _used.add(port)
        return port
    raise RuntimeError(f"no free port in {lo}-{hi}")


def wait_until(fn, *, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            got = fn()
            if got:
                return got
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s ({last})")


def stop(proc: subprocess.Popen | None, *, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop one process we started (its own process group), by id."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _spawn(
    cmd: list[str],
    *,
    env: dict | None = None,
    log: Path,
    cwd: Path | None = None,
    user: str | None = None,
) -> subprocess.Popen:
    if user and os.geteuid() == 0:
        cmd = ["runuser", "-u", user, "--", *cmd]
    out = open(log, "ab")  # noqa: SIM115 - kept open for the child's lifetime
    return subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd or ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def app_env(*, database_url: str, redis_url: str | None, workdir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CECP_")}
    env.update(SECRETS)
    # One load generator address stands in for a thousand people: the per-address limits
    # (sign-in, public pages, API) would meter the generator, not the platform. The
    # per-account limits stay on.
    env.update(
        {
            "CECP_RATELIMIT_LOGIN_IP": "1000000/minute",
            "CECP_RATELIMIT_PUBLIC": "1000000/minute",
            "CECP_RATELIMIT_API": "1000000/minute",
        }
    )
    env.update(
        {
            "CECP_DATABASE_URL": database_url,
            "CECP_INSTANCE_PATH": str(workdir),
            "CECP_ACCESS_LOG": "",
            "OPENBLAS_NUM_THREADS": "1",
        }
    )
    if redis_url:
        env["CECP_REDIS_URL"] = redis_url
    env.update({k: str(v) for k, v in extra.items()})
    return env


@dataclass
class Node:
    port: int
    proc: subprocess.Popen
    env: dict = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_gunicorn(
    env: dict,
    *,
    workdir: Path,
    port: int | None = None,
    workers: int = 2,
    wait: float = 90,
    **extra: str,
) -> Node:
    port = port or free_port()
    node_env = {
        **env,
        "CECP_HOST": "127.0.0.1",
        "CECP_PORT": str(port),
        "CECP_WORKERS": str(workers),
        **{k: str(v) for k, v in extra.items()},
    }
    proc = _spawn(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "app.wsgi:app"],
        env=node_env,
        log=workdir / f"gunicorn-{port}.log",
    )
    node = Node(port, proc, node_env)

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: see {workdir}/gunicorn-{port}.log")
        return requests.get(node.url + "/api/v1/health", timeout=2).status_code in (200, 503)

    wait_until(up, timeout=wait, what=f"gunicorn on {port}")
    return node


HAPROXY_503 = """HTTP/1.0 503 Service Unavailable\r
Cache-Control: no-store\r
Retry-After: 5\r
Connection: close\r
Content-Type: text/html; charset=utf-8\r
\r
<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>系统繁忙</title></head>
<body><h1>系统繁忙，请稍后再试</h1>
<p>所有服务节点正忙或不可用，请在 5 秒后刷新页面。</p></body></html>
"""


def haproxy_config(
    *, port: int, backends: list[int], maxconn: int, queue_timeout: float, errorfile: Path
) -> str:
    """Round robin over the nodes; a node whose health check fails (down, or drained by an
    administrator) gets no new requests; each node holds at most `maxconn` requests, the
    rest wait in HAProxy's queue for at most `queue_timeout` and then get the 503 page;
    a request a dead node refused before any answer is tried once on another node."""
    servers = "\n".join(
        f"    server n{i} 127.0.0.1:{p} check inter 1s fall 2 rise 2 maxconn {maxconn}"
        for i, p in enumerate(backends)
    )
    return f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue {int(queue_timeout * 1000)}ms
    option redispatch
    retries 1
    retry-on conn-failure empty-response response-timeout
    errorfile 503 {errorfile}
frontend web
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /api/v1/health
    http-check expect status 200
{servers}
"""


def start_haproxy(
    *,
    backends: list[int],
    workdir: Path,
    maxconn: int = 36,
    queue_timeout: float = 3.0,
    port: int | None = None,
) -> tuple[subprocess.Popen, int]:
    port = port or free_port()
    errorfile = workdir / "haproxy-503.http"
    errorfile.write_text(HAPROXY_503)
    cfg = workdir / "haproxy.cfg"
    cfg.write_text(
        haproxy_config(
            port=port,
            backends=backends,
            maxconn=maxconn,
            queue_timeout=queue_timeout,
            errorfile=errorfile,
        )
    )
    proc = _spawn(["haproxy", "-db", "-f", str(cfg)], log=workdir / "haproxy.log")

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"haproxy exited: see {workdir}/haproxy.log")
        return requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200

    wait_until(up, timeout=20, what="haproxy")
    return proc, port


def start_etcd(workdir: Path) -> tuple[subprocess.Popen, str]:
    client, peer = free_port(), free_port()
    data = workdir / "etcd"
    proc = _spawn(
        [
            "etcd",
            "--name",
            "cecp-test",
            "--data-dir",
            str(data),
            "--listen-client-urls",
            f"http://127.0.0.1:{client}",
            "--advertise-client-urls",
            f"http://127.0.0.1:{client}",
            "--listen-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-cluster",
            f"cecp-test=http://127.0.0.1:{peer}",
        ],
        log=workdir / "etcd.log",
    )
    url = f"http://127.0.0.1:{client}"
    wait_until(lambda: requests.get(url + "/health", timeout=1).ok, timeout=20, what="etcd")
    return proc, url


def start_redis(workdir: Path, port: int | None = None) -> tuple[subprocess.Popen, int]:
    port = port or free_port()
    proc = _spawn(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(workdir),
            "--appendfilename",
            f"redis-{port}.aof",
        ],
        log=workdir / f"redis-{port}.log",
    )
    import redis

    wait_until(
        lambda: redis.Redis(port=port, socket_connect_timeout=1).ping(),
        timeout=20,
        what="redis-server",
    )
    return proc, port


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb + pg_ctl), restartable at will."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql)")
        self.bin = Path(bins[-1]).parent
        self.port = port or free_port()
        self.data = workdir / f"pg-{self.port}"
        self.log = workdir / f"pg-{self.port}.log"
        self.user = "postgres" if os.geteuid() == 0 else None
        self.sock = workdir

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(
            cmd,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    def init(self) -> PrivatePostgres:
        self.data.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.data, self.user, self.user)
            shutil.chown(self.sock, self.user, self.user)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C",
        )
        return self

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-m",
            "fast",
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200",
            "restart",
        )

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
