"""Public institutions (6.5.3): monthly energy entry (form, spreadsheet, API; the same
validation as enterprises), the ISO 14064-1 inventory (scope 1 / scope 2, tCO2; energy in
tce), base year and targets, yearly disclosure approved by the government reviewer of the
region (BPMN `institution_disclosure`), the government dashboard and the public pages."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.demo import DEMO_LOADERS
    from app.extensions import api
    from app.institutions import api as institutions_api
    from app.institutions import bpmn, views  # noqa: F401  (hooks register themselves)
    from app.institutions.demo import load_demo
    from app.web.navigation import NavItem
    from app.web.navigation import register as nav

    app.register_blueprint(views.bp)
    api.register_blueprint(institutions_api.blp)
    nav(NavItem("pubinst.index", "公共机构", "Public institution", "institution.energy"))
    nav(NavItem("pubinst.dashboard_page", "公共机构监管", "Public institutions",
                "institution.supervise"))
    nav(NavItem("pubinst.public_list", "公共机构年度公示", "Institution disclosures", "public"))
    if load_demo not in DEMO_LOADERS:
        DEMO_LOADERS.append(load_demo)
