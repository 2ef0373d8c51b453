"""Messages for every event of a report case that concerns a user: assigned, returned with
the comments, approved, published; preferences (muted kinds); an e-mail copy through a
real local SMTP server (aiosmtpd) started by the test; the unread badge."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from app.cases import notifications
from app.cases.models import Notification
from app.extensions import db
from app.uow import commit
from app.workflow import service

APPROVE = {"decision": "approve", "comment": "同意"}


def _messages(user) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(n.kind, n.message) for n in db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))]


def test_every_event_of_a_case_reaches_the_people_it_concerns(world):
    inst = world.start()
    assert _messages(world.company) == []  # starting a case tells nobody but the starter
    inst = world.do(inst, "submit_report", world.company, {"confirm": True})
    kinds = _messages(world.reviewer)
    assert [k for k, _ in kinds] == ["assigned"] and "待您初审" in kinds[0][1]
    assert _messages(world.reviewer_b) == []  # another city's reviewer hears nothing
    assert _messages(world.company_b) == []
    service.return_task(task_id=world.only_task(inst).id, user=world.reviewer,
                        comment="3 月电量与电网数据不符，请核实")
    commit()
    returned = [m for k, m in _messages(world.company) if k == "returned"]
    assert len(returned) == 1 and "3 月电量与电网数据不符，请核实" in returned[0]
    inst = world.do(inst, "submit_report", world.company, {"confirm": True,
                                                            "explanation": "已核实"})
    inst = world.do(inst, "initial_review", world.reviewer, APPROVE)
    assert [k for k, _ in _messages(world.approver)] == ["assigned"]
    assert "approved" in [k for k, _ in _messages(world.company)]
    world.do(inst, "final_review", world.approver, APPROVE)
    published = [m for k, m in _messages(world.company) if k == "published"]
    assert len(published) == 1 and "已终审通过并发布" in published[0]
    assert notifications.unread_count(world.company) == 3
    assert _messages(world.company_b) == []


def test_a_muted_kind_is_not_written(world):
    notifications.update_preferences(user=world.reviewer, email_enabled=False,
                                     muted=["assigned"])
    commit()
    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    assert _messages(world.reviewer) == []
    with pytest.raises(ValueError):
        notifications.update_preferences(user=world.reviewer, email_enabled=False,
                                         muted=["nonsense"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_email_copy_through_a_local_smtp_server(world, app):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    port = _free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    old = {k: app.config.get(k) for k in ("CECP_SMTP_HOST", "CECP_SMTP_PORT")}
    app.config.update(CECP_SMTP_HOST="127.0.0.1", CECP_SMTP_PORT=port)
    try:
        notifications.update_preferences(user=world.reviewer, email_enabled=True, muted=[])
        commit()
        inst = world.start()
        world.do(inst, "submit_report", world.company, {"confirm": True})
    finally:
        app.config.update(old)
        controller.stop()
    assert len(received) == 1
    mail = received[0]
    assert mail["To"] == world.reviewer.email
    body = mail.get_payload(decode=True).decode("utf-8")
    assert "待您初审" in body and "测试水泥有限公司" in body
    assert _messages(world.company) == []  # no preference: no e-mail, and nothing to hear


def test_messages_page_shows_own_messages_and_saves_preferences(world, client):
    from tests.conftest import enrol_totp, login

    enrol_totp(world.reviewer)
    inst = world.start()
    world.do(inst, "submit_report", world.company, {"confirm": True})
    login(client, world.reviewer)
    page = client.get("/notifications").get_data(as_text=True)
    assert "待您初审" in page and "新待办" in page
    home = client.get("/").get_data(as_text=True)
    assert 'id="badge-cases-notifications_page"' in home
    r = client.post("/notifications/preferences", data={"muted": ["reminder"], "email": "on"},
                    follow_redirects=True)
    assert r.status_code == 200
    pref = notifications.get_preferences(user_id=world.reviewer.id)
    assert pref.email_enabled and pref.muted_kinds == "reminder"


def test_filing_deadline_near_and_overdue_once_per_month(world, app):
    """An enterprise that has not filed last month's data hears of the deadline in the
    days before it and once more after it; one that filed hears nothing; a second run of
    the daily job writes nothing new."""
    from datetime import date

    from app.cases import filing
    from app.energy.models import EnergyRecord

    db.session.add(EnergyRecord(enterprise_id=world.ent_b.id, year=2026, month=4,
                                period=202604))  # B filed April
    commit()
    assert filing.deadline_of(2026, 4) == date(2026, 5, 15)
    assert filing.deadline_of(2026, 12) == date(2027, 1, 15)
    app.config["CECP_FILING_REMIND_DAYS"] = 3
    assert filing.remind(today=date(2026, 5, 11)) == 0  # too early
    assert filing.remind(today=date(2026, 5, 12)) == 1
    commit()
    assert filing.remind(today=date(2026, 5, 14)) == 0  # already told
    commit()
    [(kind, message)] = _messages(world.company)
    assert kind == "reminder" and "2026年4月能耗数据" in message and "2026-05-15" in message
    assert _messages(world.company_b) == [] and _messages(world.reviewer) == []
    assert filing.remind(today=date(2026, 5, 16)) == 1
    commit()
    assert filing.remind(today=date(2026, 5, 20)) == 0
    commit()
    assert [k for k, _ in _messages(world.company)] == ["reminder", "overdue"]
    # a user who muted the kind is not told
    notifications.update_preferences(user=world.company, email_enabled=False,
                                     muted=["reminder"])
    commit()
    assert filing.remind(today=date(2026, 6, 13)) == 1  # May: only B (A muted reminders)
    commit()
    assert len(_messages(world.company)) == 2
    assert [k for k, _ in _messages(world.company_b)] == ["reminder"]
