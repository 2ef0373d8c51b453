"""The public face of `cases` for other domains and the pages: a user's messages, the
self-check other domains add their checks to, and the publications in force.

The BPMN service tasks of the processes live in modules named for what they are
(`report_review.py`, `publication.py`, `reminders.py`, `archive.py`) and are reached by
the engine through `register_service`, never imported by other domains.
"""

from __future__ import annotations

from app.cases.notifications import (
    KINDS,
    get_all,
    get_preferences,
    mark_all_read,
    notify,
    unread_count,
    update_preferences,
)
from app.cases.publication import list_current as list_current_publications
from app.cases.selfcheck import CHECKS, Check, still_valid
from app.cases.selfcheck import run as run_self_check

__all__ = [
    "CHECKS",
    "KINDS",
    "Check",
    "get_all",
    "get_preferences",
    "list_current_publications",
    "mark_all_read",
    "notify",
    "run_self_check",
    "still_valid",
    "unread_count",
    "update_preferences",
]
