"""Cases: the domain side of the processes (self-check, publication, reminders)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    # the BPMN service tasks and process hooks register themselves on import
    from app.cases import (  # noqa: F401
        archive,
        dashboard,
        filing,
        jobs,
        notifications,
        publication,
        reminders,
        report_review,
        views,
    )
    from app.jobs import periodic
    from app.web.home import PANELS
    from app.web.navigation import BADGES
    from app.workflow.persistence import TASK_LISTENERS

    if dashboard.panels not in PANELS:
        PANELS.append(dashboard.panels)
    if jobs.on_tasks not in TASK_LISTENERS:
        TASK_LISTENERS.append(jobs.on_tasks)
    app.register_blueprint(views.bp)
    BADGES["cases.notifications_page"] = dashboard.unread
    periodic.register("cases.filing_reminders", every="CECP_FILING_REMIND_SECONDS",
                      default=86400, run=filing.run)
