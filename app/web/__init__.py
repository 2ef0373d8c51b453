"""Server-rendered pages shared by all domains: layout, home, profile, language."""

from __future__ import annotations

from flask import Flask


def init_web(app: Flask) -> None:
    from app.audit import refusals
    from app.web import csp, filters, headers, navigation, static_files, views

    app.register_blueprint(views.bp)
    filters.init_app(app)
    csp.init_app(app)
    headers.init_app(app)
    refusals.init_app(app)
    app.context_processor(navigation.context)
    static_files.init_app(app)
