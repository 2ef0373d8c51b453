"""Load GB/T 2260 regions and GB/T 4754 industries from the cited data files (idempotent)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.orgs.models import Industry, Region


def _upsert(model, rows, fields: tuple[str, ...]) -> int:
    existing = {o.code: o for o in db.session.scalars(select(model))}
    changed = 0
    # parents first, so foreign keys resolve on flush in any dialect
    for row in sorted(rows, key=lambda r: (r.parent_code is not None, len(r.code), r.code)):
        obj = existing.get(row.code)
        if obj is None:
            obj = model(code=row.code)
            db.session.add(obj)
            existing[row.code] = obj
        for f in fields:
            value = getattr(row, f, None)
            if getattr(obj, f) != value:
                setattr(obj, f, value)
                changed += 1
    db.session.flush()
    return changed


def load_reference() -> dict[str, int]:
    from app import refdata

    regions = refdata.load_regions()
    industries = refdata.load_industries()
    return {
        "regions": _upsert(Region, regions, ("name", "name_en", "level", "parent_code")),
        "industries": _upsert(Industry, industries,
                              ("name", "name_en", "level", "parent_code", "sector")),
    }
