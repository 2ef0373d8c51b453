"""Queries over organisations, narrowed to the caller's data scope (one documented exception)."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, or_, select

from app.extensions import db
from app.identity.scope import DataScope, region_prefix, scoped
from app.orgs.models import Enterprise


def enterprises_query(*, scope: DataScope | None = None, q: str | None = None,
                      region: str | None = None, industry: str | None = None) -> Select:
    stmt = scoped(select(Enterprise), Enterprise, scope).order_by(Enterprise.name)
    if q:
        term = q.strip()
        stmt = stmt.where(or_(Enterprise.name.icontains(term, autoescape=True),
                              Enterprise.uscc.icontains(term, autoescape=True)))
    if region:
        stmt = stmt.where(Enterprise.region_code.startswith(region_prefix(region), autoescape=True))
    if industry:
        stmt = stmt.where(Enterprise.industry_code.startswith(industry, autoescape=True))
    return stmt


_BY_USCC = select(Enterprise).where(Enterprise.uscc == bindparam("b_uscc"))


def enterprise_by_uscc(uscc: str) -> Enterprise | None:
    """Unscoped lookup for internal callers that have already checked the caller's scope
    (the workflow's case): one prebuilt statement, as it runs in every review step."""
    return db.session.scalar(_BY_USCC, {"b_uscc": str(uscc)})
