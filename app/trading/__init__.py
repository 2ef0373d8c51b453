"""Carbon trading support (R-6.3): reduction projects, methodologies as data, quantification
and the carbon asset ledger."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.extensions import api
    from app.trading import api as trading_api

    api.register_blueprint(trading_api.blp)
