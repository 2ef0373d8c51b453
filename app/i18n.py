"""Locale choice: Chinese first; English on request (?lang=en, the session, or the user)."""

from __future__ import annotations

from flask import request, session
from flask_security import current_user

SUPPORTED = {"zh": "zh_Hans_CN", "zh_CN": "zh_Hans_CN", "zh_Hans_CN": "zh_Hans_CN",
             "en": "en"}


def select_locale() -> str:
    lang = request.args.get("lang") if request else None
    if lang in SUPPORTED:
        session["lang"] = SUPPORTED[lang]
    if session.get("lang"):
        return session["lang"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        return SUPPORTED.get(current_user.locale, "zh_Hans_CN")
    return "zh_Hans_CN"
