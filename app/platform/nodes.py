"""Node registration and heartbeat (service discovery for the governance view)."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

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


def maybe_heartbeat(kind: str = "web") -> None:
    """Throttled heartbeat for request handlers; never fails a request."""
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
    node = db.session.get(ServiceNode, node_id(kind))
    return node is not None and node.status == "offline"


def all_nodes() -> list[dict]:
    now = utcnow()
    out = []
    for n in db.session.scalars(select(ServiceNode).order_by(ServiceNode.kind, ServiceNode.id)):
        state = n.status if now - n.last_seen <= STALE_AFTER else "stale"
        out.append({"node": n, "state": state})
    return out


def set_status(ident: str, status: str) -> ServiceNode:
    if status not in ("online", "offline"):
        raise ValueError("status 只能是 online 或 offline")
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
