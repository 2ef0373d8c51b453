"""Electricity-carbon factors (电碳因子, R-6.4): the enterprise factor library, estimation
from electricity, regional carbon-emission-flow simulation and third-party checks."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.demo import DEMO_LOADERS
    from app.extensions import api as smorest
    from app.factors import api, checks, cli, demo, views  # noqa: F401  (checks: services)
    from app.web.navigation import NavItem
    from app.web.navigation import register as nav

    app.register_blueprint(views.bp)
    smorest.register_blueprint(api.blp)
    app.cli.add_command(cli.factors_cli)
    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)
    nav(NavItem("factors.index", "电碳因子", "Electricity factors", "enterprise.read"))
