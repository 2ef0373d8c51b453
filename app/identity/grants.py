"""What a user may do and see (role names, permissions, data scope), read once per
authorization stamp and shared by the requests of a process.

Every request reads the user row anyway (Flask-Security's user loader); reading its roles
and scopes as well costs two more queries per request. The row's `authz_stamp` changes in
the same flush as any change to the user's roles or scopes, or to a role's permissions
(`_bump_stamps`), so `Grants` cached under (user uid, stamp) are never stale, in any process.
Objects whose roles or scopes are already loaded (possibly with unflushed edits) are read
directly and never cached.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from itertools import chain
from threading import Lock
from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from app.identity.datascope import KINDS, PUBLIC, DataScope
from app.identity.models import Role, User, UserScope

_MAX = 10_000
_cache: OrderedDict[tuple[str, int], Grants] = OrderedDict()
_lock = Lock()


@dataclass(frozen=True)
class Grants:
    roles: frozenset[str]
    permissions: frozenset[str]
    scope: DataScope


NONE = Grants(frozenset(), frozenset(), PUBLIC)


def _compute(user: User) -> Grants:
    roles = list(user.roles)
    names = frozenset(r.name for r in roles)
    permissions = frozenset(chain.from_iterable(r.get_permissions() for r in roles))
    if "admin" in names:
        return Grants(names, permissions, DataScope(all=True))
    grants: dict[str, list[str]] = {k: [] for k in KINDS}
    for s in user.scopes:
        if s.kind in grants:
            grants[s.kind].append(s.code)
    scope = DataScope(**{k: tuple(sorted(v)) for k, v in grants.items()})
    return Grants(names, permissions, scope)


def grants_for(user: Any) -> Grants:
    """The user's grants; anonymous users (and None) have none."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NONE
    if not isinstance(user, User):  # a stand-in object (tests, jobs): read as it is
        return _compute(user)
    state = inspect(user)
    if not state.persistent or state.modified or "scopes" in user.__dict__:
        return _compute(user)  # perhaps with unflushed edits (roles come eagerly loaded)
    key = (user.uid, user.authz_stamp or 0)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    found = _compute(user)
    with _lock:
        _cache[key] = found
        while len(_cache) > _MAX:
            _cache.popitem(last=False)
    return found


def _changed(obj: Any, *names: str) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[n].history.has_changes() for n in names)


@event.listens_for(Session, "before_flush")
def _bump_stamps(session: Session, _ctx: Any, _instances: Any) -> None:
    """A new stamp for every user whose grants this flush changes."""
    users: set[User] = set()
    role_ids: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, UserScope):
            user = obj.user if obj.user is not None else (
                session.get(User, obj.user_id) if obj.user_id else None)
            if user is not None:
                users.add(user)
        elif isinstance(obj, User):
            if obj in session.dirty and _changed(obj, "roles", "scopes"):
                users.add(obj)
        elif isinstance(obj, Role) and obj.id is not None and (
                obj in session.deleted or _changed(obj, "name", "permissions")):
            role_ids.add(obj.id)
    for user in users:
        if user not in session.deleted:
            user.authz_stamp = (user.authz_stamp or 0) + 1
    if role_ids:  # every holder of a changed role
        from flask_security.models.fsqla_v3 import FsModels

        link = FsModels.roles_users
        session.execute(update(User).where(User.id.in_(
            select(link.c.user_id).where(link.c.role_id.in_(role_ids))))
            .values(authz_stamp=User.authz_stamp + 1)
            .execution_options(synchronize_session=False))


def scope_for(user: Any) -> DataScope:
    """The caller's data scope: administrators see all, anonymous users nothing (public
    pages read only published data through their own queries)."""
    return grants_for(user).scope
