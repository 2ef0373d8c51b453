"""Monitoring (R-6.1): region, industry, enterprise and public-institution views over
pre-aggregated monthly facts, the public disclosure and the country comparison."""

from __future__ import annotations

from flask import Flask

from app.importers import importer


@importer("countries")
def import_countries_file(path) -> dict:
    """`cecp import countries FILE`: the CDIAC national CSV; all rows or nothing."""
    from app.extensions import db
    from app.monitoring.countries import import_countries
    from app.uow import commit

    report = import_countries(path)
    if report["ok"]:
        commit()  # the CLI edge: `cecp import` itself does not commit
    else:
        db.session.rollback()
    return report


def _home_figures(scope) -> list[dict]:
    """Home page: the latest month's CO2 in the caller's region scope."""
    if not (scope.all or scope.region):
        return []
    from app.monitoring import cube, filters

    f = filters.with_defaults(filters.Filters(region=scope.region[0] if len(scope.region) == 1
                                              and not scope.all else ""), scope)
    s = cube.summary(scope, f)
    if s["co2"] is None:
        return []
    from flask_babel import gettext

    return [{"label": gettext("%(y)s年%(m)s月 CO2 排放", y=f.year, m=f.month),
             "value": s["co2"], "unit": "万吨"}]


def _accounts_changed(enterprise_ids: set[int] | None, periods: set[int] | None) -> None:
    """Accounting's change signal: refresh exactly those facts, in the same transaction."""
    from app.monitoring import service

    service.request_refresh(enterprise_ids=enterprise_ids, periods=periods)


def register(app: Flask) -> None:
    from app.jobs import periodic
    from app.monitoring import jobs as monitoring_jobs

    # the safety net: views fold in new accounts on read
    periodic.register("monitoring.sweep", every="CECP_MONITORING_SWEEP_SECONDS", default=60,
                      run=monitoring_jobs.sweep)
    from app.accounting.hooks import AFTER_ACCOUNTS_CHANGED

    if _accounts_changed not in AFTER_ACCOUNTS_CHANGED:
        AFTER_ACCOUNTS_CHANGED.append(_accounts_changed)
    from app.demo import DEMO_LOADERS
    from app.extensions import api
    from app.monitoring import api as monitoring_api
    from app.monitoring import (
        jobs,  # noqa: F401  (registers the job names)
        views,
    )
    from app.monitoring.cli import monitoring_cli
    from app.monitoring.demo import load_demo
    from app.web import home

    app.register_blueprint(views.bp)
    api.register_blueprint(monitoring_api.blp)
    app.cli.add_command(monitoring_cli)
    if load_demo not in DEMO_LOADERS:
        DEMO_LOADERS.append(load_demo)
    if _home_figures not in home.PROVIDERS:
        home.PROVIDERS.append(_home_figures)
