"""Cases: the domain side of the processes (self-check, publication, reminders)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.cases import notifications, services, views  # noqa: F401  (services register)
    from app.web.navigation import BADGES

    app.register_blueprint(views.bp)
    BADGES["cases.notifications_page"] = notifications.unread_count
