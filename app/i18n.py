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
    "app/institutions/targets.py", "app/analytics/forecast.py",
    "app/analytics/series.py", "app/factors/estimates.py", "app/trading/origins.py",
    "app/analytics/planner.py", "app/workflow/models.py", "app/cases/selfcheck.py",
    "app/energy/kinds.py", "app/analytics/service.py", "app/analytics/__init__.py",
    # refusals and errors of the services, shown on pages and in API errors (message_en)
    "app/energy/records.py", "app/energy/schemas.py", "app/energy/api.py",
    "app/verification/service.py", "app/verification/rules.py", "app/onboarding/service.py",
    "app/onboarding/lifecycle.py", "app/onboarding/research.py", "app/exchange/service.py",
    "app/exchange/api.py", "app/exchange/powercheck.py", "app/cases/report_review.py",
    "app/accounting/engine.py", "app/cases/filing.py", "app/cases/jobs.py",
    "app/api/__init__.py",
)
#: reference data whose short Chinese labels (grade names, colours) are shown on pages
LABEL_DATA = ("app/refdata/grading_schemes.json", "app/trading/data/methodologies.json")


class Msg(str):
    """A Chinese text a service builds from a catalogue msgid and parameters (a heading with a
    year, a note with a count). It *is* the Chinese string, so exports, the audit and the API
    keep working on it unchanged; a page prints it in the reader's language (finalize), with
    its parameters translated too when they are msgids or Msgs themselves.

    ``Msg("%(year)s年逐月", year=2025)``: scripts/i18n_update.py extracts the msgid (``-k Msg``).
    Compose Msgs through parameters, never by ``+`` or f-strings (those make a plain str)."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Msg:
        obj = super().__new__(cls, msgid % params if params else msgid)
        obj.msgid, obj.params = msgid, params
        return obj

    def __reduce__(self):  # pickled into caches as the Chinese text it stands for
        return (str, (str(self),))

    def translated(self) -> str:
        from flask_babel import get_translations

        text = get_translations().gettext(self.msgid)
        if not self.params:
            return text
        return text % {k: translate(v) for k, v in self.params.items()}


class Seq(str):
    """Texts joined by the Chinese "；" (a list inside a Msg): translated item by item."""

    parts: tuple[Any, ...]

    def __new__(cls, parts: Any, sep: str = "；") -> Seq:
        parts = tuple(parts)
        obj = super().__new__(cls, sep.join(parts))
        obj.parts = parts
        return obj

    def __reduce__(self):
        return (str, (str(self),))


class Named(str):
    """A Chinese data name that has an official English one (GB/T 4754-2017 industries, the
    carbon market's sectors, both with ``name_en`` in app/refdata): a page in English prints
    the English name; everything else (exports, the audit, sorting) sees the Chinese."""

    en: str | None

    def __new__(cls, name: str, en: str | None = None) -> Named:
        obj = super().__new__(cls, name)
        obj.en = en or None
        return obj

    def __reduce__(self):
        return (Named, (str(self), self.en))


class Known(str):
    """Stored Chinese text written from one of `patterns` (see translate_known), carried to
    the page as is: printed (or used as a Msg parameter) in the reader's language."""

    patterns: tuple[str, ...]

    def __new__(cls, text: str, patterns: tuple[str, ...]) -> Known:
        obj = super().__new__(cls, text)
        obj.patterns = patterns
        return obj

    def __reduce__(self):
        return (str, (str(self),))


def english() -> bool:
    """Whether the page is being rendered in English."""
    if not has_request_context():
        return False
    from flask_babel import get_locale

    return str(get_locale()) == "en"


#: msgids of texts that services store in Chinese as written (an anomaly's reason, a
#: self-check finding, a derivation's origin): a page in English recognises a printed text
#: written from one of them and shows it translated (translate_known). Modules add theirs
#: with known(...) at import.
KNOWN: list[str] = []


def known(*msgids: str) -> tuple[str, ...]:
    """Register msgids whose stored texts pages translate; returns them."""
    for m in msgids:
        if m not in KNOWN:
            KNOWN.append(m)
    return msgids


def translate(value: Any) -> Any:
    """The reader's language for a Msg or a plain msgid, or a stored text written from a
    KNOWN msgid; anything else unchanged (data names match no msgid and stay as entered).
    Outside a request (CLI, jobs) the Chinese."""
    if not isinstance(value, str) or (type(value) is str and not _CJK.search(value)):
        return value
    if not english():  # the msgids are the Chinese: a Chinese page prints values as they are
        return value
    if isinstance(value, Msg):
        return value.translated()
    if isinstance(value, Seq):
        return "; ".join(translate(p) for p in value.parts)
    if isinstance(value, Known):
        return translate_known(str(value), value.patterns)
    if isinstance(value, Named):
        return value.en or str(value)
    if type(value) is not str:
        return value
    from flask_babel import get_translations

    text = get_translations().gettext(value)
    if text == value and KNOWN:
        found = _match(value, KNOWN)
        return value if found is None else found
    return text


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdf]|%%")


def _pattern(msgid: str) -> re.Pattern[str]:
    """A msgid as a regular expression that recovers its parameters from the Chinese text."""
    out, pos, seen = [], 0, set()
    for m in _PLACEHOLDER.finditer(msgid):
        out.append(re.escape(msgid[pos:m.start()]))
        name = m.group(1)
        if name is None:
            out.append("%")
        elif name in seen:
            out.append(f"(?P={name})")
        else:
            seen.add(name)
            out.append(f"(?P<{name}>[^、；]*?)")  # a list is matched item by item
        pos = m.end()
    out.append(re.escape(msgid[pos:]))
    return re.compile("".join(out), re.S)


def _match(text: str, patterns) -> str | None:
    """`text` written from one of `patterns`, translated; a list joined by "、" item by item;
    None when nothing matches."""
    for msgid in patterns:
        m = _compiled(msgid).fullmatch(text)
        if m:
            params = {k: translate_known(v, patterns) for k, v in m.groupdict().items()}
            return Msg(msgid, **params).translated()
    if "、" in text:  # a list, when some item is a known text (data lists stay as entered)
        parts = text.split("、")
        done = [str(translate_known(p, patterns)) for p in parts]
        if done != parts:
            return ", ".join(done)
    return None


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compiled(msgid: str) -> re.Pattern[str]:
    if msgid not in _COMPILED:
        _COMPILED[msgid] = _pattern(msgid)
    return _COMPILED[msgid]


def translate_known(text: Any, patterns: tuple[str, ...]) -> Any:
    """Stored Chinese text that a service wrote from one of `patterns` (Msg msgids: an
    anomaly's reason, a derivation's origin) in the reader's language: the parameters are
    recovered from the text and put into the translated msgid, themselves translated the same
    way. Text matching no pattern is translated as a plain msgid or shown as stored."""
    if not isinstance(text, str) or not english() or not _CJK.search(text):
        return text
    from flask_babel import get_translations

    plain = get_translations().gettext(str(text))
    if plain != text:
        return plain
    found = _match(str(text), patterns)
    if found is None and patterns is not KNOWN:
        found = _match(str(text), KNOWN)
    return text if found is None else found


def translate_tree(value: Any) -> Any:
    """translate() through dicts and lists: chart data handed to the page's scripts as JSON."""
    if isinstance(value, dict):
        return {k: translate_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [translate_tree(v) for v in value]
    return translate(value)


def finalize(value: Any) -> Any:
    """Jinja finalize: a printed plain string that is a catalogue msgid, or a Msg, is shown
    translated.

    Markup (already translated by _() or built HTML) and non-Chinese text pass unchanged; only
    an exact msgid matches, so data values (names) stay as entered."""
    return translate(value)


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
