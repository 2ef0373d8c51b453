"""Flask-Admin (/admin): users, roles, organisations and the audit log; admins only."""

from __future__ import annotations

from flask import Flask

from app.admin.views import build_admin


def init_admin(app: Flask) -> None:
    from app.admin import csp

    build_admin(app)
    csp.init_app(app)
