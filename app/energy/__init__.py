"""Energy types, the factor library (versioned, cited) and monthly enterprise records."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.energy import api, importer, views  # noqa: F401  (importer registers itself)
    from app.extensions import api as smorest

    app.register_blueprint(views.bp)
    smorest.register_blueprint(api.blp)
