"""Locale choice: Chinese first; English on request (?lang=en, the session, or the user)."""

from __future__ import annotations

import re
from typing import Any

from flask import has_request_context, request, session
from flask_security import current_user

SUPPORTED = {"zh": "zh_Hans_CN", "zh_CN": "zh_Hans_CN", "zh_Hans_CN": "zh_Hans_CN",
             "en": "en"}
DEFAULT = "zh_Hans_CN"


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT  # CLI, jobs
    lang = request.args.get("lang")
    if lang in SUPPORTED:
        session["lang"] = SUPPORTED[lang]
    if session.get("lang"):
        return session["lang"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        return SUPPORTED.get(current_user.locale, DEFAULT)
    return DEFAULT


_CJK = re.compile(r"[\u4e00-\u9fff]")

#: modules whose Chinese string constants are labels shown on pages (dashboard panels, filter
#: tables, monitoring headings): scripts/i18n_update.py adds them to the catalogue and
#: finalize() translates them when printed, so services stay free of request-bound gettext
LABEL_MODULES = (
    "app/cases/dashboard.py", "app/web/filters.py", "app/monitoring/*.py",
    "app/admin/views.py", "app/analytics/anomalies.py", "app/platform/alerts.py",
    "app/cases/notifications.py", "app/workflow/views.py", "app/factors/library.py",
    "app/accounting/views.py", "app/verification/dashboard.py", "app/web/home.py",
    "app/factors/models.py", "app/onboarding/models.py", "app/documents/models.py",
    "app/trading/models.py", "app/trading/ledger.py", "app/institutions/models.py",
    "app/institutions/targets.py",
)
#: reference data whose short Chinese labels (grade names, colours) are shown on pages
LABEL_DATA = ("app/refdata/grading_schemes.json", "app/trading/data/methodologies.json")


def finalize(value: Any) -> Any:
    """Jinja finalize: a printed plain string that is a catalogue msgid is shown translated.

    Markup (already translated by _() or built HTML) and non-Chinese text pass unchanged; only
    an exact msgid matches, so data values (names) stay as entered."""
    if type(value) is not str or not _CJK.search(value) or not has_request_context():
        return value
    from flask_babel import get_translations

    return get_translations().gettext(value)


def compile_catalogs(translations_dir: str) -> None:
    """Build missing or stale .mo files from the committed .po files (no build step)."""
    import os

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for locale in os.listdir(translations_dir) if os.path.isdir(translations_dir) else []:
        folder = os.path.join(translations_dir, locale, "LC_MESSAGES")
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            if not name.endswith(".po"):
                continue
            po = os.path.join(folder, name)
            mo = po[:-3] + ".mo"
            if os.path.exists(mo) and os.path.getmtime(mo) >= os.path.getmtime(po):
                continue
            with open(po, "rb") as f:
                catalog = read_po(f, locale=locale)
            try:
                with open(mo, "wb") as f:
                    write_mo(f, catalog)
            except OSError:  # a read-only install ships its .mo files prebuilt
                pass
