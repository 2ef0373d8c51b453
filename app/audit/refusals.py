"""Refused requests in the audit log, counted so that a flood does not flood the log.

Every refusal (403, a 404 on an existing route: the object is not there or not in the
caller's data scope, a CSRF refusal, a login on a locked account, a rate-limit hit) adds one
to a counter per minute, action, user and client address: in Redis when configured, else in
the `refusal_count` table. A periodic job (`audit.refusals`) turns every finished minute
into one audit record per counter, with the count and the first path refused. A thousand
refused requests from one address in a minute are one record saying 1,000.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import delete, select, update

from app.audit import service as audit
from app.audit.models import RefusalCount
from app.db import utcnow
from app.extensions import db

#: response status -> action noted (404 only where a route matched)
STATUS_ACTIONS = {403: "access.denied", 404: "access.not_found", 429: "ratelimit.hit"}


def _window(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _redis():
    url = current_app.config.get("CECP_REDIS_URL")
    if not url:
        return None
    import redis

    clients = current_app.extensions.setdefault("cecp_refusal_redis", {})
    if url not in clients:
        clients[url] = redis.Redis.from_url(url)
    return clients[url]


def _prefix() -> str:
    return current_app.config["CECP_QUEUE_PREFIX"] + ":refusals:"


def note(
    action: str,
    *,
    user_id: int | None = None,
    email: str | None = None,
    ip: str | None = None,
    path: str | None = None,
    now: datetime | None = None,
) -> None:
    """Count one refusal. Never raises: a refusal must not turn into an error page."""
    if has_request_context():
        from flask_security import current_user

        if user_id is None and getattr(current_user, "is_authenticated", False):
            user_id, email = current_user.id, current_user.email
        ip = ip or request.remote_addr
        path = path or request.path
    window = _window(now or utcnow())
    uid, ip, sample = int(user_id or 0), (ip or "-")[:64], (path or "")[:300]
    try:
        r = _redis()
        if r is not None:
            key = _prefix() + window.strftime("%Y%m%d%H%M")
            field = json.dumps([action, uid, ip, email])
            pipe = r.pipeline()
            pipe.hincrby(key, field, 1)
            pipe.hsetnx(key + ":sample", field, sample)
            pipe.expire(key, 86400)
            pipe.expire(key + ":sample", 86400)
            pipe.execute()
            return
        _note_db(window, action, uid, ip, sample)
    except Exception:  # the counter is best effort; the refusal itself stands
        current_app.logger.exception("refusal counter failed (%s)", action)


def _note_db(window: datetime, action: str, uid: int, ip: str, sample: str) -> None:
    table = RefusalCount.__table__
    key = (
        (table.c.window == window)
        & (table.c.action == action)
        & (table.c.user_id == uid)
        & (table.c.ip == ip)
    )
    with db.engine.begin() as conn:
        if conn.execute(update(table).where(key).values(count=table.c.count + 1)).rowcount:
            return
        try:
            with conn.begin_nested():
                conn.execute(
                    table.insert().values(
                        window=window, action=action, user_id=uid, ip=ip, count=1, sample=sample
                    )
                )
        except Exception:  # another request inserted it first
            conn.execute(update(table).where(key).values(count=table.c.count + 1))


def flush(now: datetime | None = None) -> int:
    """One audit record per counter of every finished minute; returns how many. Queued in
    the caller's unit of work (the periodic job's ticker commits)."""
    current = _window(now or utcnow())
    entries: list[dict[str, Any]] = []
    r = _redis()
    if r is not None:
        prefix = _prefix()
        for raw in r.scan_iter(match=prefix + "*", count=500):
            key = raw.decode()
            stamp = key[len(prefix) :]
            if not stamp.isdigit():
                continue
            window = datetime.strptime(stamp, "%Y%m%d%H%M")
            if window >= current:
                continue
            claimed = prefix + "flushing:" + stamp
            try:
                r.rename(key, claimed)  # one flusher wins the window
            except Exception:
                continue
            samples = r.hgetall(key + ":sample")
            for field, count in r.hgetall(claimed).items():
                action, uid, ip, email = json.loads(field)
                entries.append(
                    _entry(
                        window,
                        action,
                        uid,
                        ip,
                        email,
                        int(count),
                        (samples.get(field) or b"").decode(),
                    )
                )
            r.delete(claimed, key + ":sample")
    else:
        rows = db.session.scalars(
            select(RefusalCount).where(RefusalCount.window < current).order_by(RefusalCount.window)
        ).all()
        emails = _emails({row.user_id for row in rows if row.user_id})
        for row in rows:
            entries.append(
                _entry(
                    row.window,
                    row.action,
                    row.user_id,
                    row.ip,
                    emails.get(row.user_id),
                    row.count,
                    row.sample,
                )
            )
        db.session.execute(delete(RefusalCount).where(RefusalCount.window < current))
    for e in entries:
        audit.record(e.pop("action"), **e)
    return len(entries)


def _emails(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    from sqlalchemy import column, table

    users = table("user", column("id"), column("email"))
    return dict(
        db.session.execute(select(users.c.id, users.c.email).where(users.c.id.in_(ids))).all()
    )


def _entry(
    window: datetime,
    action: str,
    uid: int,
    ip: str,
    email: str | None,
    count: int,
    sample: str | None,
) -> dict[str, Any]:
    user = SimpleNamespace(id=uid, email=email, is_authenticated=True) if uid else None
    return {
        "action": "refused." + action,
        "object_type": "refusal",
        "object_id": ip,
        "user": user,
        "email": email,
        "summary": {
            "count": count,
            "window": window.isoformat() + "Z",
            "ip": ip,
            "minutes": 1,
            "sample": sample,
        },
    }


def _after(response):
    action = g.pop("cecp_refusal", None)
    status = response.status_code
    if action is None and status in STATUS_ACTIONS:
        if status == 404 and (request.url_rule is None or request.endpoint == "static"):
            return response
        action = STATUS_ACTIONS[status]
    if action:
        note(action)
    return response


def mark(action: str) -> None:
    """Note this request as refused for `action` (when its status alone does not say so)."""
    g.cecp_refusal = action


def init_app(app: Flask) -> None:
    from app.jobs import periodic

    app.after_request(_after)
    periodic.register("audit.refusals", every="CECP_REFUSAL_FLUSH_SECONDS", default=60, run=flush)


def window_end(window: datetime) -> datetime:
    return window + timedelta(minutes=1)
