"""Home page figures for the caller's scope (the domain modules add theirs)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from app.extensions import db
from app.identity.scope import current_scope, scoped
from app.orgs.models import Enterprise, Institution

#: extra figure providers registered by domain packages: fn(scope) -> list[(label, value, unit)]
PROVIDERS: list[Callable] = []
#: dashboard panels by role, registered by domain packages: fn(user, scope) -> list[dict]
PANELS: list[Callable] = []


def _count(model) -> int:
    stmt = scoped(select(func.count()).select_from(model), model)
    return db.session.scalar(stmt) or 0


def figures() -> list[dict]:
    scope = current_scope()
    out = [
        {"label": "企业数", "value": _count(Enterprise), "unit": "家"},
        {"label": "重点控排企业", "value": db.session.scalar(
            scoped(select(func.count()).select_from(Enterprise), Enterprise)
            .where(Enterprise.key_emitter.is_(True))) or 0, "unit": "家"},
        {"label": "公共机构", "value": _count(Institution), "unit": "家"},
    ]
    for provider in PROVIDERS:
        out.extend(provider(scope))
    return out


def public_figures() -> list[dict]:
    return [{"label": "公示公共机构", "value": db.session.scalar(
        select(func.count()).select_from(Institution).where(Institution.published.is_(True)))
        or 0, "unit": "家"}]


def panels(user) -> list[dict]:
    scope = current_scope()
    out: list[dict] = []
    for provider in PANELS:
        out.extend(provider(user, scope))
    return out
