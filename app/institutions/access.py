"""Who may read and write a public institution's data (one place, used by pages and API).

Read: its members (`institution.energy`, the institution named in their scope) and the
government users whose region covers it (`institution.supervise`). Write: its members only.
Anyone else gets None (pages and API answer 404: nothing says the institution exists).
"""

from __future__ import annotations

from typing import Any

from app.identity.scope import current_scope
from app.institutions import service
from app.orgs.models import Institution


def readable(user: Any, code: str) -> Institution | None:
    if not (user.has_permission("institution.energy")
            or user.has_permission("institution.supervise")):
        return None
    scope = current_scope()
    inst = service.get(code=code, scope=scope)
    if inst is None:
        return None
    if user.has_permission("institution.supervise") or service.is_member(institution=inst,
                                                                          scope=scope):
        return inst
    return None


def writable(user: Any, inst: Institution) -> bool:
    return (user.has_permission("institution.energy")
            and service.is_member(institution=inst, scope=current_scope()))


def supervisor(user: Any) -> bool:
    return user.has_permission("institution.supervise")
