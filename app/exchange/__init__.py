"""Data exchange (R-9, R-8.6/8.7): machine clients, staging batches, meters, readings,
rollups, the real-time store, and the adapters' common service (`integrations/` holds the
SOAP service, file importers and the intermediate-database connector)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.exchange import api, auth, freshness, jobs, powercheck, views  # noqa: F401
    from app.extensions import api as smorest

    auth.init_app(app)
    powercheck.register()
    freshness.register()
    smorest.register_blueprint(api.blp)
    app.register_blueprint(views.bp)
    views.register_nav()
