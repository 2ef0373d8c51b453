"""Template filters that turn codes into names people read (roles, GB/T 2260 regions)."""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy import select

from app.extensions import db
from app.identity.roles import ROLES


def role_label(name: str | None) -> str:
    for r in ROLES:
        if r.name == name:
            return r.label
    return name or ""


def region_name(code: str | None) -> str:
    if not code:
        return ""
    if "cecp_region_names" not in g:
        from app.orgs.models import Region

        g.cecp_region_names = dict(db.session.execute(select(Region.code, Region.name)).all())
    return g.cecp_region_names.get(code, code)


def init_app(app: Flask) -> None:
    app.add_template_filter(role_label)
    app.add_template_filter(region_name)
