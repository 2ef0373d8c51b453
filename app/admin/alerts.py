"""告警 (/admin/alerts/): the platform's self-checks (`app.platform.alerts`) for
administrators, in the platform layout. Thin: the checks live in the platform package."""

from __future__ import annotations

from flask_admin import BaseView, expose

from app.platform import alerts


class AlertsView(BaseView):
    """Mixed with the admin guard in `app.admin.views` (admin.access)."""

    @expose("/")
    def index(self):
        found = alerts.evaluate()
        return self.render("admin/alerts.html", alerts=found, summary=alerts.summary(found))
