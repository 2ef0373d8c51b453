"""The user's messages page (/notifications)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_security import auth_required, current_user

from app.cases import notifications

bp = Blueprint("cases", __name__)


@bp.route("/notifications")
@auth_required("session")
def notifications_page():
    return render_template("cases/notifications.html",
                           items=notifications.get_all(user=current_user))


@bp.route("/notifications/read", methods=["POST"])
@auth_required("session")
def mark_read():
    n = notifications.mark_all_read(user=current_user)
    flash(f"已将 {n} 条消息标为已读", "success")
    return redirect(url_for("cases.notifications_page"))
