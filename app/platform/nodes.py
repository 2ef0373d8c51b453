"""Node registration, heartbeat and discovery (R-5.5) for the governance view and health.

Two registries behind one face: the `service_node` table (the embedded default, and
whenever `CECP_ETCD_URL` is unset) and etcd in production (`app.platform.etcd`: each node
registers with a lease and its services; a dead node disappears when its lease expires).
Taking a node offline drains it: a web node's health answers 503 so the load balancer stops
sending it new requests (the ones it holds complete), a worker stops taking new jobs.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.platform.models import ServiceNode
from app.platform.registry import SERVICES

HEARTBEAT_SECONDS = 30
STALE_AFTER = timedelta(minutes=2)


def node_id(kind: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{kind}"


def heartbeat(kind: str = "web") -> ServiceNode:
    """Register or refresh this process; cheap enough to call every HEARTBEAT_SECONDS."""
    ident = node_id(kind)
    node = db.session.get(ServiceNode, ident)
    if node is None:
        node = ServiceNode(id=ident, kind=kind, host=socket.gethostname(), pid=os.getpid(),
                           services=",".join(sorted(SERVICES)))
        db.session.add(node)
    node.last_seen = utcnow()
    db.session.flush()
    return node


def _etcd():
    url = current_app.config.get("CECP_ETCD_URL")
    if not url:
        return None
    ext = current_app.extensions
    if ext.get("cecp_etcd_url") != url:
        from app.platform.etcd import Etcd

        ext["cecp_etcd"], ext["cecp_etcd_url"] = Etcd(url), url
    return ext["cecp_etcd"]


def _key(*parts: str) -> str:
    return "/".join([current_app.config["CECP_ETCD_PREFIX"].rstrip("/"), *parts])


def register_etcd(kind: str):
    """Register this process in etcd once (lease + keep-alive thread); idempotent."""
    from app.platform.etcd import Registration

    regs = current_app.extensions.setdefault("cecp_etcd_regs", {})
    if kind not in regs:
        ident = node_id(kind)
        record = {"id": ident, "kind": kind, "host": socket.gethostname(), "pid": os.getpid(),
                  "services": sorted(SERVICES), "started_at": time.time()}
        regs[kind] = Registration(_etcd(), key=_key("nodes", kind, ident), record=record,
                                  ttl=int(current_app.config["CECP_ETCD_TTL"])).start()
        import atexit

        atexit.register(regs[kind].stop)  # leave at once on a clean shutdown
    return regs[kind]


def maybe_heartbeat(kind: str = "web") -> None:
    """Throttled heartbeat for request handlers; never fails a request."""
    if _etcd() is not None:
        if kind not in current_app.extensions.get("cecp_etcd_regs", {}):
            register_etcd(kind)  # later beats come from the registration's thread
        return
    state = current_app.extensions.setdefault("cecp_heartbeat", {"at": 0.0})
    now = time.monotonic()
    if now - state["at"] < HEARTBEAT_SECONDS:
        return
    state["at"] = now
    try:
        heartbeat(kind)
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("node heartbeat failed")


def this_node_offline(kind: str = "web") -> bool:
    client = _etcd()
    if client is not None:
        return client.get(_key("status", node_id(kind))) == "offline"
    node = db.session.get(ServiceNode, node_id(kind))
    return node is not None and node.status == "offline"


def _etcd_nodes(client) -> list[dict]:
    import json
    from datetime import UTC, datetime

    status = {k.rsplit("/", 1)[-1]: v for k, v in client.get_prefix(_key("status", "")).items()}
    out = []
    for _k, raw in sorted(client.get_prefix(_key("nodes", "")).items()):
        rec = json.loads(raw)

        def ts(v: float) -> datetime:
            return datetime.fromtimestamp(v, UTC).replace(tzinfo=None)

        node = SimpleNamespace(
            id=rec["id"], kind=rec["kind"], host=rec["host"], pid=rec["pid"],
            services=",".join(rec.get("services", [])),
            status=status.get(rec["id"], "online"), started_at=ts(rec["started_at"]),
            last_seen=ts(rec.get("last_seen", rec["started_at"])))
        out.append({"node": node, "state": node.status})
    return out


def list_nodes() -> list[dict]:
    """Every registered node as plain values: id, kind, host, state (online, offline,
    stale), services; from etcd when configured, else from the table."""
    return [{"id": r["node"].id, "kind": r["node"].kind, "host": r["node"].host,
             "state": r["state"], "services": r["node"].services} for r in all_nodes()]


def registry_name() -> str:
    return "etcd" if _etcd() is not None else "database"


def all_nodes() -> list[dict]:
    client = _etcd()
    if client is not None:
        return _etcd_nodes(client)
    now = utcnow()
    out = []
    for n in db.session.scalars(select(ServiceNode).order_by(ServiceNode.kind, ServiceNode.id)):
        state = n.status if now - n.last_seen <= STALE_AFTER else "stale"
        out.append({"node": n, "state": state})
    return out


def set_status(ident: str, status: str):
    """Take a node offline (drain) or back online; audited in the caller's transaction."""
    if status not in ("online", "offline"):
        raise ValueError("status 只能是 online 或 offline")
    client = _etcd()
    if client is not None:
        known = {r["node"].id: r["node"] for r in _etcd_nodes(client)}
        if ident not in known:
            raise LookupError(f"节点 {ident} 不存在")
        before = known[ident].status
        if status == "offline":
            client.put(_key("status", ident), "offline")
        else:
            client.delete(_key("status", ident))
        audit.record("service.node_status", object_type="service_node", object_id=ident,
                     summary={"before": before, "after": status, "registry": "etcd"})
        known[ident].status = status
        return known[ident]
    node = db.session.get(ServiceNode, ident)
    if node is None:
        raise LookupError(f"节点 {ident} 不存在")
    before, node.status = node.status, status
    audit.record("service.node_status", object_type="service_node", object_id=ident,
                 summary={"before": before, "after": status})
    return node


def forget_stale() -> int:
    cutoff = utcnow() - STALE_AFTER * 30
    stale = db.session.scalars(select(ServiceNode).where(ServiceNode.last_seen < cutoff)).all()
    for n in stale:
        db.session.delete(n)
    return len(stale)
