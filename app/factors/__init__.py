"""Electricity-carbon factors (电碳因子, R-6.4): the enterprise factor library, estimation
from electricity, regional carbon-emission-flow simulation and third-party checks."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.accounting import hooks
    from app.demo import DEMO_LOADERS
    from app.extensions import api as smorest
    from app.factors import (  # noqa: F401  (hooks register themselves)
        api,
        checks,
        cli,
        demo,
        estimates,
        jobs,
        model_evidence,
        views,
    )
    from app.web.navigation import NavItem
    from app.web.navigation import register as nav

    app.register_blueprint(views.bp)
    smorest.register_blueprint(api.blp)
    app.cli.add_command(cli.factors_cli)
    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)
    if estimates.included_sql not in hooks.ESTIMATED_CO2:
        hooks.ESTIMATED_CO2.append(estimates.included_sql)
    if jobs.accounts_changed not in hooks.AFTER_ACCOUNTS_CHANGED:
        hooks.AFTER_ACCOUNTS_CHANGED.append(jobs.accounts_changed)
    nav(NavItem("factors.index", "电碳因子", "Electricity factors", "enterprise.read"))
