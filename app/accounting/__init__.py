"""GB/T 32150 accounting, the carbon account and the carbon efficiency code (碳效码)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.accounting import api, demo, jobs, recompute, views  # noqa: F401  (jobs register)
    from app.demo import DEMO_LOADERS
    from app.extensions import api as smorest
    from app.web.home import PROVIDERS

    recompute.subscribe()   # energy's records / factor signals (app.energy.hooks)
    app.register_blueprint(views.bp)
    smorest.register_blueprint(api.blp)
    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)
    if views.home_figures not in PROVIDERS:
        PROVIDERS.append(views.home_figures)
