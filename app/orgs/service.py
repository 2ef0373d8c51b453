"""Queries over organisations, always narrowed to the caller's data scope."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from app.identity.scope import DataScope, region_prefix, scoped
from app.orgs.models import Enterprise


def enterprises_query(*, scope: DataScope | None = None, q: str | None = None,
                      region: str | None = None, industry: str | None = None) -> Select:
    stmt = scoped(select(Enterprise), Enterprise, scope).order_by(Enterprise.name)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Enterprise.name.ilike(like), Enterprise.uscc.ilike(like)))
    if region:
        stmt = stmt.where(Enterprise.region_code.like(region_prefix(region) + "%"))
    if industry:
        stmt = stmt.where(Enterprise.industry_code.like(industry + "%"))
    return stmt
