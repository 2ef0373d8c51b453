"""Carbon trading support (R-6.3): reduction projects, methodologies as data, quantification
and the carbon asset ledger."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.demo import DEMO_LOADERS
    from app.extensions import api
    from app.trading import api as trading_api
    from app.trading import (  # noqa: F401  (bpmn: process hooks and services)
        bpmn,
        demo,
        importer,  # registers `cecp import settlements`
        monitoring_api,  # routes on the trading blueprint
        views,
    )

    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)

    api.register_blueprint(trading_api.blp)
    app.register_blueprint(views.bp)
    from app.web.navigation import NavItem
    from app.web.navigation import register as nav

    nav(NavItem("trading.projects", "减排项目", "Reduction projects", "enterprise.read"))
    nav(NavItem("trading.region_monitoring", "项目运行监测", "Project monitoring",
                "enterprise.read"))
    nav(NavItem("trading.serial_check", "碳资产查询", "Serial check", "public"))
