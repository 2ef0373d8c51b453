"""Nodes of the platform (web processes and workers) as seen by the service registry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db


class ServiceNode(db.Model):
    """One running process. An administrator can take it offline: its health check then
    answers 503 so the load balancer stops sending it traffic (R-5.5)."""

    __tablename__ = "service_node"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid:kind
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # web | worker
    host: Mapped[str] = mapped_column(String(100), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    services: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="online")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
