"""后台任务 (/admin/jobs/): outbox depth, periodic jobs, dead letters with retry and
discard. Thin: the logic and the audit records live in `app.jobs.service`."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_security import current_user

from app.audit import service as audit
from app.extensions import db
from app.jobs import periodic
from app.jobs import service as jobs
from app.uow import commit

STATUS_LABELS = {"pending": "等待", "dispatched": "已入队", "running": "执行中",
                 "done": "已完成", "dead": "死信", "discarded": "已放弃"}
ACTIONS = {"retry": (jobs.retry, "已重新排队"), "discard": (jobs.discard, "已放弃")}


def beijing(ts: datetime | None) -> str:
    return (ts + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


class JobsView(BaseView):
    """Mixed with the admin guard in `app.admin.views` (admin.access to see; services.manage
    to act)."""

    @expose("/", methods=["GET", "POST"])
    def index(self):
        if request.method == "POST":
            return self._act()
        return self.render("admin/jobs.html", counts=jobs.counts(), labels=STATUS_LABELS,
                           dead=jobs.list_dead(), schedule=periodic.schedule(),
                           summary=jobs.payload_summary, attempts=jobs.attempts_of,
                           beijing=beijing)

    def _act(self):
        from app.extensions import csrf

        csrf.protect()  # Flask-Admin views carry no auth decorator that would check it
        action, raw_id = request.form.get("action", ""), request.form.get("job_id", "")
        if not current_user.has_permission("services.manage"):
            audit.record("job.refused", object_type="outbox_job", object_id=raw_id,
                         summary={"action": action})
            db.session.commit()
            abort(403)
        if action not in ACTIONS or not raw_id.isdigit():
            flash("无效的操作或任务编号", "error")
            return redirect(url_for(".index"))
        fn, done = ACTIONS[action]
        try:
            row = fn(job_id=int(raw_id), user=current_user)
            commit()
            flash(f"任务 #{row.id}（{row.name}）{done}", "success")
        except jobs.NotDead as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for(".index"))
