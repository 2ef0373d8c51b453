"""Server-rendered pages shared by all domains: layout, home, profile, language."""

from __future__ import annotations

from flask import Flask


def init_web(app: Flask) -> None:
    from app.web import csp, filters, headers, navigation, views

    app.register_blueprint(views.bp)
    filters.init_app(app)
    csp.init_app(app)
    headers.init_app(app)
    from app.audit import refusals

    refusals.init_app(app)
    app.context_processor(navigation.context)
