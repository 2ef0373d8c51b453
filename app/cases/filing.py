"""Filing-deadline messages: a month's energy data is due by `FILING_DAY` of the next month.

In the `CECP_FILING_REMIND_DAYS` days (default 3) before that day, every user of an
enterprise that has not filed the month gets a "deadline near" message; from the day after
it, one "overdue" message. Each user gets each kind once per month: the message names the
month, and a repeat run finds it (the daily job is idempotent and may run on any node).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import exists, select

from app.cases.models import Notification
from app.cases.notifications import notify
from app.energy.models import EnergyRecord
from app.extensions import db
from app.i18n import Msg, known
from app.identity.models import User, UserScope
from app.orgs.models import Enterprise

FILING_DAY = 15  # a month's energy data is due by this day of the next month


def deadline_of(year: int, month: int) -> date:
    """The filing deadline of a month's data."""
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt.replace(day=FILING_DAY)


#: stored as written; pages in English recognise them (app.i18n.known)
DUE = "%(year)s年%(month)s月能耗数据的填报截止日为 %(deadline)s，尚未填报，请及时填报。"
LATE = "%(year)s年%(month)s月能耗数据已超过填报截止日（%(deadline)s），尚未填报，请尽快补报。"
known(DUE, LATE)


def _message(kind: str, month: date, deadline: date) -> str:
    text = DUE if kind == "reminder" else LATE
    return str(Msg(text, year=month.year, month=month.month, deadline=f"{deadline:%Y-%m-%d}"))


def remind(*, today: date) -> int:
    """Write the messages due on `today`; returns how many were written."""
    month = today.replace(day=1) - timedelta(days=1)  # the month whose data is due now
    deadline = deadline_of(month.year, month.month)
    days = int(current_app.config.get("CECP_FILING_REMIND_DAYS", 3))
    if deadline - timedelta(days=days) <= today <= deadline:
        kind = "reminder"
    elif today > deadline:
        kind = "overdue"
    else:
        return 0
    message = _message(kind, month, deadline)
    filed = exists().where(EnergyRecord.enterprise_id == Enterprise.id,
                           EnergyRecord.year == month.year, EnergyRecord.month == month.month)
    users = db.session.scalars(
        select(User).join(UserScope, UserScope.user_id == User.id)
        .join(Enterprise, Enterprise.uscc == UserScope.code)
        .where(UserScope.kind == "enterprise", ~filed, User.active.is_(True),
               User.deleted_at.is_(None)).distinct().order_by(User.id)).all()
    if not users:
        return 0
    told = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == kind, Notification.message == message,
        Notification.user_id.in_([u.id for u in users]))))
    return sum(notify(user=u, kind=kind, message=message) for u in users if u.id not in told)


def run() -> int:
    """The daily job (`cases.filing_reminders`), in Beijing time."""
    return remind(today=datetime.now(ZoneInfo("Asia/Shanghai")).date())
