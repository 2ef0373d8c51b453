"""会话管理: an administrator lists a user's signed-in sessions, ends one or all of them, and
lifts a lockout (so that a lock triggered by someone else's wrong passwords is not a free
denial of service). Every change is audited."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_security import current_user
from sqlalchemy import select

from app.audit import service as audit
from app.extensions import csrf, db
from app.identity import lockout, sessions
from app.identity.models import User, UserSession


def _find(query: str | None) -> User | None:
    if not query:
        return None
    if query.isdigit():
        return db.session.get(User, int(query))
    return db.session.scalar(select(User).where(User.email == query.strip().lower()))


class SessionsView(BaseView):
    @expose("/", methods=["GET", "POST"])
    def index(self):
        user = _find(request.values.get("user"))
        if request.method == "POST":
            if current_app.config.get("WTF_CSRF_ENABLED", True):
                csrf.protect()  # Flask-Admin views carry no auth decorator that checks it
            if user is None:
                abort(404)
            self._act(user, request.form.get("action", ""))
            db.session.commit()
            return redirect(url_for(".index", user=user.id))
        rows = sessions.list_for_user(user_id=user.id) if user else []
        db.session.commit()  # rows of sessions that ended by themselves are dropped
        return self.render(
            "admin/sessions.html",
            user=user,
            rows=rows,
            query=request.values.get("user", ""),
            locked=bool(user and lockout.is_locked(user)),
        )

    def _act(self, user: User, action: str) -> None:
        if action == "end":
            row = db.session.get(UserSession, int(request.form.get("session_id") or 0))
            if row is None or row.user_id != user.id:
                abort(404)
            sessions.end(row=row)
            audit.record(
                "session.end",
                object_type="user",
                object_id=user.id,
                summary={"session": row.id, "ip": row.ip, "since": row.created_at.isoformat()},
            )
            flash("会话已结束，该浏览器需重新登录。", "success")
        elif action == "end_all":
            n = sessions.end_all(user_id=user.id)
            audit.record(
                "session.end_all", object_type="user", object_id=user.id, summary={"count": n}
            )
            flash(f"已结束 {n:,} 个会话。", "success")
        elif action == "unlock":
            was = user.locked_until
            lockout.reset(user)
            audit.record(
                "user.unlock",
                object_type="user",
                object_id=user.id,
                summary={"locked_until": was.isoformat() if was else None},
            )
            flash("账户已解除锁定。", "success")
        else:
            abort(400)

    def is_accessible(self) -> bool:
        return (
            current_user.is_authenticated
            and current_user.has_permission("admin.access")
            and current_user.has_permission("users.manage")
        )
