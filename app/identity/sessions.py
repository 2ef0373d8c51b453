"""Server-side sessions: the cookie carries only a random id, the data stays on the server.

Why: with Flask's signed cookie a copied cookie stays valid after logout, and nobody can end
a session but its browser. Here the session lives in Redis (Flask-Session) or, in embedded
mode, in the `web_session` table, so logout, the idle timeout, the absolute lifetime and an
administrator's "end session" delete it on the server and a copied cookie is dead.

The id changes at login (no fixation) and at logout. Each signed-in session has a row in
`user_session` (who, since when, last seen, address, browser) so an administrator can list
a user's sessions and end them whichever store holds the data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, request, session
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from sqlalchemy import delete, select, update

from app.db import utcnow
from app.extensions import db
from app.identity.models import UserSession, WebSession

#: how often a session's "last seen" is written to its registry row (seconds)
SEEN_EVERY = 60


class _SecureCookie:
    """`Secure` on the session cookie: always, never, or ("auto") when the request came over
    HTTPS (behind a proxy: set CECP_PROXY_HOPS so the forwarded scheme is trusted)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        mode = app.config.get("CECP_COOKIE_SECURE", "auto")
        if mode == "auto":
            return bool(request) and request.is_secure
        return bool(mode)


class DbSessionInterface(_SecureCookie, ServerSideSessionInterface):
    """Sessions in the platform's database (embedded mode: SQLite, no Redis).

    Each call uses its own connection and transaction: the request's unit of work
    (`app.uow`) is never committed or rolled back by saving a session.
    """

    session_class = ServerSideSession
    ttl = False

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        table = WebSession.__table__
        with db.engine.begin() as conn:
            row = conn.execute(
                select(table.c.data, table.c.expiry).where(table.c.session_id == store_id)
            ).first()
        if row is None or row.expiry <= utcnow():
            return None
        return self.serializer.decode(bytes(row.data))

    def _delete_session(self, store_id: str) -> None:
        table = WebSession.__table__
        with db.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.session_id == store_id))

    def _upsert_session(
        self, session_lifetime: timedelta, session: ServerSideSession, store_id: str
    ) -> None:
        table = WebSession.__table__
        data = self.serializer.encode(session)
        expiry = utcnow() + session_lifetime
        with db.engine.begin() as conn:
            done = conn.execute(
                update(table).where(table.c.session_id == store_id).values(data=data, expiry=expiry)
            ).rowcount
            if not done:
                conn.execute(table.insert().values(session_id=store_id, data=data, expiry=expiry))

    def _delete_expired_sessions(self) -> None:
        table = WebSession.__table__
        with db.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.expiry <= utcnow()))


def init_app(app: Flask) -> None:
    """Put the session store in place: Redis when configured, else the database."""
    cfg = app.config
    common = dict(
        key_prefix=cfg["CECP_QUEUE_PREFIX"] + ":session:",
        use_signer=False,
        permanent=False,
        sid_length=32,
        serialization_format="msgpack",
    )
    if cfg.get("CECP_REDIS_URL"):
        import redis
        from flask_session.redis import RedisSessionInterface

        class RedisSessions(_SecureCookie, RedisSessionInterface):
            pass

        client = redis.Redis.from_url(cfg["CECP_REDIS_URL"])
        app.session_interface = RedisSessions(app, client=client, **common)
    else:
        app.session_interface = DbSessionInterface(app, cleanup_n_requests=500, **common)


def _interface() -> ServerSideSessionInterface:
    return current_app.session_interface  # type: ignore[return-value]


def _store_id(sid: str) -> str:
    return _interface()._get_store_id(sid)


def started_at() -> datetime | None:
    raw = session.get("cecp_started")
    return datetime.fromisoformat(raw) if raw else None


def absolute_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["CECP_SESSION_MAX_HOURS"])


def on_login(user: Any) -> None:
    """A new id for the signed-in session (the one before login may be known to others),
    and its row in the registry (added to the login's unit of work)."""
    iface = _interface()
    old = getattr(session, "sid", None)
    if old:
        iface._delete_session(iface._get_store_id(old))
        db.session.execute(delete(UserSession).where(UserSession.sid == old))
    session.sid = iface._generate_sid(iface.sid_length)
    session.modified = True
    now = utcnow()
    session["cecp_started"] = now.isoformat()
    session["cecp_seen_written"] = now.isoformat()
    db.session.add(
        UserSession(
            sid=session.sid,
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip=_client_ip(),
            user_agent=(request.user_agent.string or "")[:255],
        )
    )


def on_logout() -> None:
    """End the session on the server and start the browser on a fresh, empty one."""
    iface = _interface()
    sid = getattr(session, "sid", None)
    if sid:
        iface._delete_session(iface._get_store_id(sid))
        with db.engine.begin() as conn:
            conn.execute(delete(UserSession.__table__).where(UserSession.__table__.c.sid == sid))
    session.clear()
    session.sid = iface._generate_sid(iface.sid_length)
    session.modified = True


def touch() -> None:
    """Write "last seen" to the registry at most once a minute per session."""
    sid = getattr(session, "sid", None)
    raw = session.get("cecp_seen_written")
    now = utcnow()
    if not sid or (raw and (now - datetime.fromisoformat(raw)).total_seconds() < SEEN_EVERY):
        return
    session["cecp_seen_written"] = now.isoformat()
    table = UserSession.__table__
    with db.engine.begin() as conn:
        conn.execute(update(table).where(table.c.sid == sid).values(last_seen_at=now))


def list_for_user(*, user_id: int) -> list[UserSession]:
    """The user's live sessions, newest first; rows whose session is gone are dropped."""
    rows = list(
        db.session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id)
            .order_by(UserSession.created_at.desc())
        )
    )
    iface = _interface()
    live = []
    for row in rows:
        if iface._retrieve_session_data(iface._get_store_id(row.sid)) is None:
            db.session.delete(row)
        else:
            live.append(row)
    return live


def end(*, row: UserSession) -> None:
    """Delete the stored session (its cookie is dead from now on) and its registry row."""
    _interface()._delete_session(_store_id(row.sid))
    db.session.delete(row)


def end_all(*, user_id: int) -> int:
    rows = list(db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)))
    for row in rows:
        end(row=row)
    return len(rows)


def _client_ip() -> str | None:
    return (request.remote_addr or None) if request else None
