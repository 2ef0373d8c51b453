"""Home, profile and language pages."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_security import auth_required, current_user

from app.web import home

bp = Blueprint("web", __name__)


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render_template("index.html", figures=home.public_figures(), panels=[])
    # The figure cards are shown to the supervising roles only (index.html `panel_only`):
    # the others' home page skips their counting queries (a third of its time under load).
    shows_figures = any(current_user.has_role(r) for r in ("admin", "reviewer", "approver"))
    return render_template("index.html", figures=home.figures() if shows_figures else [],
                           panels=home.panels(current_user))


@bp.route("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.route("/lang/<code>")
def set_language(code: str):
    session["lang"] = "en" if code == "en" else "zh_Hans_CN"
    target = request.referrer or url_for("web.index")
    return redirect(target if target.startswith(request.host_url) else url_for("web.index"))


@bp.route("/profile")
@auth_required("session")
def profile():
    return render_template("profile.html")
