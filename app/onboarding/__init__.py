"""Onboarding and workspaces (R-6.5): research institutes, exchanges, public institutions and
banks apply online, are reviewed, accept the data-use agreement and get their workspace."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.demo import DEMO_LOADERS
    from app.extensions import api
    from app.onboarding import api as onboarding_api
    from app.onboarding import (  # noqa: F401  (jobs register themselves)
        certificate_api,
        consent_api,
        consent_views,
        exchange_api,
        exchange_views,
        flow,
        jobs,
        research_api,
        research_flow,
        research_views,
        views,
    )
    from app.onboarding.demo import load_demo
    from app.web.navigation import NavItem
    from app.web.navigation import register as nav

    app.register_blueprint(views.bp)
    app.register_blueprint(consent_views.bp)
    api.register_blueprint(onboarding_api.blp)
    api.register_blueprint(consent_api.blp)
    api.register_blueprint(certificate_api.blp)
    app.register_blueprint(exchange_views.bp)
    api.register_blueprint(exchange_api.blp)
    app.register_blueprint(research_views.bp)
    api.register_blueprint(research_api.blp)
    nav(NavItem("onboarding.workspace", "机构工作台", "Workspace", "institution.workspace"))
    nav(NavItem("consent.consents", "银行授权", "Bank consent", "energy.write"))
    nav(NavItem("research.requests_page", "科研数据申请", "Research data", "research.request"))
    nav(NavItem("onboarding.review_list", "入驻审核", "Onboarding review", "users.manage"))
    if load_demo not in DEMO_LOADERS:
        DEMO_LOADERS.append(load_demo)
