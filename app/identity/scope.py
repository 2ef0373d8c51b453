"""Data scope (R-5.3): the one place that narrows any query to what the caller may see.

A model opts in with `__scope__ = ScopeRule(...)` naming the columns that hold a region code
(GB/T 2260), an enterprise USCC, an institution code or a verification-body code, or naming
a foreign key through which another scoped model decides (`via`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import abort
from flask_security import current_user
from sqlalchemy import ColumnElement, Select, false, or_, select, true

from app.extensions import db
from app.identity.datascope import (  # noqa: F401 - the scope vocabulary, used with it
    KINDS,
    PUBLIC,
    DataScope,
    region_covers,
    region_prefix,
)
from app.identity.grants import scope_for


@dataclass(frozen=True)
class ScopeRule:
    region: str | None = None
    enterprise: str | None = None
    institution: str | None = None
    verification_body: str | None = None
    via: tuple[str, Any] | None = None  # (fk column on this model, scoped target model)
    target_key: str = "id"
    extra: dict = field(default_factory=dict)


def current_scope() -> DataScope:
    return scope_for(current_user)


def scope_clause(model: Any, scope: DataScope) -> ColumnElement[bool]:
    if scope.all:
        return true()
    rule: ScopeRule | None = getattr(model, "__scope__", None)
    if rule is None:
        raise TypeError(f"{model.__name__} declares no __scope__: it cannot be scoped")
    if rule.via is not None:
        fk, target = rule.via
        target_rule: ScopeRule = target.__scope__
        inner = select(getattr(target, target_rule.target_key)).where(
            scope_clause(target, scope))
        return getattr(model, fk).in_(inner)
    parts: list[ColumnElement[bool]] = []
    if rule.region and scope.region:
        col = getattr(model, rule.region)
        # autoescape: a stored entry is a checked code (`datascope.check_entry`), and even
        # one that is not ('%', '3_') matches only itself, never widens the scope
        parts += [col.startswith(region_prefix(code), autoescape=True)
                  for code in scope.region]
    for kind in ("enterprise", "institution", "verification_body"):
        col_name = getattr(rule, kind)
        values = getattr(scope, kind)
        if col_name and values:
            parts.append(getattr(model, col_name).in_(values))
    return or_(*parts) if parts else false()


def scoped(stmt: Select, model: Any, scope: DataScope | None = None) -> Select:
    """Narrow `stmt` (which selects from `model`) to the scope (default: the caller's)."""
    return stmt.where(scope_clause(model, scope if scope is not None else current_scope()))


def scoped_select(model: Any, scope: DataScope | None = None) -> Select:
    return scoped(select(model), model, scope)


def get_scoped(model: Any, ident: Any, *, by: str = "id", scope: DataScope | None = None):
    stmt = scoped_select(model, scope).where(getattr(model, by) == ident)
    return db.session.scalar(stmt)


def get_scoped_or_404(model: Any, ident: Any, *, by: str = "id",
                      scope: DataScope | None = None):
    """A forged id gets 404, never the record and never a hint that it exists."""
    obj = get_scoped(model, ident, by=by, scope=scope)
    if obj is None:
        abort(404)
    return obj
