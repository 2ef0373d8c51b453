"""E-mail copies of messages through the configured SMTP server (`CECP_SMTP_HOST`; none:
no e-mail). A failed delivery is logged and never loses the in-platform message."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def configured() -> bool:
    return bool(current_app.config.get("CECP_SMTP_HOST"))


def send(*, to: str, subject: str, body: str) -> bool:
    cfg = current_app.config
    if not configured():
        return False
    msg = EmailMessage()
    msg["From"] = cfg.get("CECP_SMTP_FROM") or "cecp@localhost"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body + "\n\n—— 工业碳效码平台（本邮件由系统发送，请勿回复）")
    try:
        with smtplib.SMTP(cfg["CECP_SMTP_HOST"], int(cfg.get("CECP_SMTP_PORT") or 25),
                          timeout=10) as smtp:
            if cfg.get("CECP_SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("CECP_SMTP_USER"):
                smtp.login(cfg["CECP_SMTP_USER"], cfg.get("CECP_SMTP_PASSWORD") or "")
            smtp.send_message(msg)
        return True
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception("e-mail to %s failed", to)
        return False
