"""Third-party verification (ISO 14064-3): the verification case, the verifier workspace and
the signed statements (docs/verification.md)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.accounting.views import ACCOUNT_PANELS
    from app.cases.report_review import REPORT_EXTRAS
    from app.demo import DEMO_LOADERS
    from app.verification import bpmn, dashboard, demo, statement, views  # noqa: F401
    from app.web.home import PANELS
    from app.web.navigation import NavItem
    from app.web.navigation import register as nav

    if dashboard.panels not in PANELS:
        PANELS.append(dashboard.panels)
    nav(NavItem("verification.workspace", "核查工作台", "Verification", "case.verify"))

    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)
    if views.account_panel not in ACCOUNT_PANELS:
        ACCOUNT_PANELS.append(views.account_panel)
    if views.report_extra not in REPORT_EXTRAS:
        REPORT_EXTRAS.append(views.report_extra)
    app.register_blueprint(views.bp)
    from app.verification import api

    api.register(app)
