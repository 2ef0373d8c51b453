"""Workflow runtime: persistence, inbox, forms, designer on top of `app.workflow.engine`."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.demo import DEMO_LOADERS
    from app.extensions import api
    from app.web.navigation import BADGES
    from app.workflow import api as workflow_api
    from app.workflow import demo, jobs, limits, persistence, start_timers, views
    from app.workflow.external import api as external_api
    from app.workflow.external import service as external
    from app.workflow.messaging import api as messages_api

    app.register_blueprint(views.bp)
    api.register_blueprint(workflow_api.blp)
    api.register_blueprint(external_api.blp)
    api.register_blueprint(messages_api.blp)
    if external.sync not in persistence.SAVE_HOOKS:
        persistence.SAVE_HOOKS.append(external.sync)
    app.context_processor(views.nav_context)
    BADGES["workflow.inbox"] = views.inbox_badge
    jobs.register_periodic()
    start_timers.register_periodic()
    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)
    app.config.setdefault("CECP_REVIEW_DEADLINE", "P5D")
    app.config.setdefault("CECP_REVIEW_REMINDER", "P3D")
    limits.configure(app)
