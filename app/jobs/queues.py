"""Redis connection and rq queues, named with a configurable prefix."""

from __future__ import annotations

from flask import current_app
from redis import Redis
from rq import Queue

QUEUE_NAMES = ("default", "reports", "imports")


def redis_url() -> str | None:
    return current_app.config.get("CECP_REDIS_URL")


def connection() -> Redis | None:
    url = redis_url()
    if not url:
        return None
    cache = current_app.extensions.setdefault("cecp_redis", {})
    if url not in cache:
        cache[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return cache[url]


def queue_name(name: str) -> str:
    return f"{current_app.config['CECP_QUEUE_PREFIX']}:{name}"


def queue(name: str = "default", conn: Redis | None = None) -> Queue:
    return Queue(queue_name(name), connection=conn or connection())


def all_queues(conn: Redis | None = None) -> list[Queue]:
    return [queue(n, conn) for n in QUEUE_NAMES]
