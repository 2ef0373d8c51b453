"""Issue 16: a lockout is no lasting denial of service — the owner resets the password by
e-mail (a real local SMTP server) and signs in at once; the reset ends old sessions."""

import re
from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditRecord
from app.db import utcnow
from tests.conftest import login


def test_owner_unlocks_by_password_reset(database_url, make_user, db):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    from app import create_app

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    controller = Controller(Collect(), hostname="127.0.0.1", port=16013)
    controller.start()
    try:
        other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                            "CECP_REDIS_URL": None, "WTF_CSRF_ENABLED": False,
                            "CECP_RATELIMIT_ENABLED": False, "CECP_SMTP_HOST": "127.0.0.1",
                            "CECP_SMTP_PORT": 16013, "SECURITY_RECOVERABLE": True})
        user = make_user("enterprise")
        old_browser = other.test_client()
        login(old_browser, user)
        assert old_browser.get("/profile").status_code == 200
        db.session.refresh(user)
        user.locked_until = utcnow() + timedelta(minutes=15)  # someone guessed 5 times
        db.session.commit()
        c = other.test_client()
        assert "forgot-password" in c.get("/auth/login").get_data(as_text=True)
        r = c.post("/auth/reset", data={"email": user.email})
        assert r.status_code in (200, 302)
        assert len(received) == 1, r.get_data(as_text=True)[-3000:]
        mail = received[0]
        body = "".join(
            part.get_payload(decode=True).decode("utf-8")
            for part in mail.walk() if part.get_content_type() == "text/plain")
        link = re.search(r"http://localhost(/auth/reset/[^\s\"<]+)", body).group(1)
        new = "Fresh#Passw0rd-2027"
        r = c.post(link, data={"password": new, "password_confirm": new})
        assert r.status_code in (200, 302), r.get_data(as_text=True)[-500:]
        db.session.expire_all()
        fresh = other.test_client()
        login(fresh, user, password=new)
        assert fresh.get("/profile").status_code == 200  # the lock is gone
        assert old_browser.get("/profile").status_code == 302  # old sessions ended
    finally:
        controller.stop()
    actions = list(db.session.scalars(select(AuditRecord.action)))
    assert "password.reset" in actions
