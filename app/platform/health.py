"""Liveness and readiness of what this node depends on: database, Redis, rq workers."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app
from sqlalchemy import text

from app.extensions import db
from app.jobs import queues
from app.platform.registry import SERVICES


def _timed(fn) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # a probe reports, it never raises
        ok, detail = False, f"{type(exc).__name__}: {exc}"[:300]
    return {"ok": ok, "detail": detail,
            "ms": round((time.perf_counter() - start) * 1000, 2)}


def _db() -> str:
    db.session.execute(text("SELECT 1"))
    return db.engine.dialect.name


def _redis() -> str:
    conn = queues.connection()
    conn.ping()
    return "pong"


def _workers() -> str:
    from rq import Worker

    conn = queues.connection()
    workers = Worker.all(connection=conn)
    mine = [w for w in workers
            if any(q.startswith(current_app.config["CECP_QUEUE_PREFIX"] + ":")
                   for q in w.queue_names())]
    if not mine:
        raise RuntimeError("没有在线的后台任务进程 (rq worker)")
    return f"{len(mine)} 个在线"


def check() -> tuple[bool, dict[str, Any]]:
    components: dict[str, Any] = {"database": {**_timed(_db), "required": True}}
    redis_configured = bool(current_app.config.get("CECP_REDIS_URL"))
    if redis_configured:
        components["redis"] = {**_timed(_redis), "required": True}
        components["worker"] = {**_timed(_workers),
                                "required": current_app.config["CECP_HEALTH_REQUIRE_WORKER"]}
    else:
        components["redis"] = {"ok": True, "detail": "未配置：后台任务在进程内执行",
                               "required": False, "ms": 0}
    from app.platform import nodes

    components["registry"] = {**_timed(lambda: f"{nodes.registry_name()}: "
                                       f"{len(nodes.list_nodes())} 个节点"), "required": False}
    try:
        offline = components["database"]["ok"] and nodes.this_node_offline("web")
    except Exception:  # noqa: BLE001 - registry away: keep serving, the probe above says so
        offline = False
    components["node"] = {"ok": not offline, "required": True, "ms": 0,
                          "detail": "管理员已将本节点下线" if offline else "在线"}
    ready = all(c["ok"] for c in components.values() if c["required"])
    services = {}
    for s in SERVICES.values():
        deps_ok = all(components.get(d, {"ok": True})["ok"] for d in s.depends)
        probe_ok, detail = s.probe() if s.probe else (True, "")
        services[s.name] = {"label": s.label, "ok": deps_ok and probe_ok, "detail": detail}
    return ready, {"status": "ok" if ready else "unavailable", "components": components,
                   "services": services}
