"""Analysis and prediction (R-10.3, R-4b): forecasts with backtests, year-end projections,
anomaly flags that feed the self-check, the grade-improvement planner and the reduction
potential to each industry's best quartile."""

from __future__ import annotations

from flask import Flask


def _accounts_changed(enterprise_ids: set[int] | None, periods: set[int] | None) -> None:
    """Accounting's change signal: re-detect the flags of those enterprises (all on a
    province batch), in the same transaction as the accounts."""
    from app.jobs.outbox import enqueue

    enqueue("analytics.flags",
            enterprise_ids=sorted(enterprise_ids) if enterprise_ids is not None else None)


def _self_check():
    from app.analytics import service
    from app.cases.service import Check

    return Check("anomalies", service.enterprise_warnings, service.flags_basis)


def _demo(enterprises: int, months: int) -> None:
    from app.analytics import service

    service.run_forecasts()
    service.detect_flags()


def register(app: Flask) -> None:
    from app.accounting.hooks import AFTER_ACCOUNTS_CHANGED
    from app.accounting.views import ACCOUNT_PANELS
    from app.analytics import api, jobs, views  # noqa: F401  (jobs register themselves)
    from app.analytics.cli import analytics_cli
    from app.cases.service import CHECKS
    from app.demo import DEMO_LOADERS
    from app.extensions import api as smorest
    from app.jobs import periodic
    from app.web.navigation import NavItem
    from app.web.navigation import register as nav

    app.register_blueprint(views.bp)
    smorest.register_blueprint(api.blp)
    app.cli.add_command(analytics_cli)
    if _accounts_changed not in AFTER_ACCOUNTS_CHANGED:
        AFTER_ACCOUNTS_CHANGED.append(_accounts_changed)
    if not any(c.name == "anomalies" for c in CHECKS):
        CHECKS.append(_self_check())
    if account_panel not in ACCOUNT_PANELS:
        ACCOUNT_PANELS.append(account_panel)
    if _demo not in DEMO_LOADERS:
        DEMO_LOADERS.append(_demo)
    periodic.register("analytics.forecast_all", every="CECP_ANALYTICS_FORECAST_SECONDS",
                      default=86400, run=jobs.forecast_all)
    nav(NavItem("analytics.forecast", "预测分析", "Forecasts", "monitor.read"))
    nav(NavItem("analytics.flags", "异常识别", "Anomalies", "monitor.read"))
    nav(NavItem("analytics.potential", "减排潜力", "Potential", "monitor.read"))


def account_panel(enterprise, year: int) -> dict | None:
    """The account page's line about the year-end projection, with the planner's link."""
    from flask import url_for

    from app.analytics import service

    p = service.projection(enterprise=enterprise, year=year)
    text = (p.get("text") or p.get("reason")) if p else "暂无年末预测"
    return {"title": "年末预测：", "text": text, "link": "碳效提升规划 →",
            "url": url_for("analytics.plan", uscc=enterprise.uscc, year=year)}
