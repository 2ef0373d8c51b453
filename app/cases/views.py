"""The user's messages page (/notifications) and message preferences."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user

from app.cases import mailer, notifications

bp = Blueprint("cases", __name__)


@bp.route("/notifications")
@auth_required("session")
def notifications_page():
    return render_template("cases/notifications.html",
                           items=notifications.get_all(user=current_user),
                           kinds=notifications.KINDS,
                           pref=notifications.get_preferences(user_id=current_user.id),
                           smtp=mailer.configured())


@bp.route("/notifications/read", methods=["POST"])
@auth_required("session")
def mark_read():
    n = notifications.mark_all_read(user=current_user)
    flash(f"已将 {n} 条消息标为已读", "success")
    return redirect(url_for("cases.notifications_page"))


@bp.route("/notifications/preferences", methods=["POST"])
@auth_required("session")
def save_preferences():
    form = request.form
    # the page sends the kinds to keep (checked boxes); the API-like form may send `muted`
    muted = form.getlist("muted") if "muted" in form else [
        k for k in notifications.KINDS if k not in form.getlist("keep")]
    try:
        notifications.update_preferences(user=current_user,
                                         email_enabled=bool(form.get("email")), muted=muted)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("cases.notifications_page"))
    flash("消息设置已保存", "success")
    return redirect(url_for("cases.notifications_page"))
