"""Carbon trading support (R-6.3): reduction projects, methodologies as data, quantification
and the carbon asset ledger."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.extensions import api
    from app.trading import api as trading_api
    from app.trading import (
        importer,  # noqa: F401 - registers `cecp import settlements`
        monitoring_api,  # noqa: F401 - routes on the trading blueprint
        views,
    )

    api.register_blueprint(trading_api.blp)
    app.register_blueprint(views.bp)
    from app.web.navigation import NavItem
    from app.web.navigation import register as nav

    nav(NavItem("trading.projects", "减排项目", "Reduction projects", "enterprise.read"))
    nav(NavItem("trading.region_monitoring", "项目运行监测", "Project monitoring",
                "enterprise.read"))
    nav(NavItem("trading.serial_check", "碳资产查询", "Serial check", "public"))
