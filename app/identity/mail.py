"""Flask-Security's e-mails (password reset) through the platform's SMTP settings
(`CECP_SMTP_*`); without `CECP_SMTP_HOST` the reset flow is off (app.config)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from flask import current_app
from flask_security.mail_util import MailUtil


class SmtpMailUtil(MailUtil):
    def send_mail(
        self,
        template: str,
        subject: str,
        recipient: str | tuple[str, str],
        sender: str | tuple[str, str],
        body: str | None,
        html: str | None,
        **kwargs: Any,
    ) -> None:
        cfg = current_app.config
        msg = EmailMessage()
        msg["From"] = cfg.get("CECP_SMTP_FROM") or "cecp@localhost"
        msg["To"] = recipient if isinstance(recipient, str) else recipient[1]
        msg["Subject"] = str(subject)
        msg.set_content(body or "")
        if html:
            msg.add_alternative(html, subtype="html")
        with smtplib.SMTP(cfg["CECP_SMTP_HOST"], int(cfg.get("CECP_SMTP_PORT") or 25),
                          timeout=10) as smtp:
            if cfg.get("CECP_SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("CECP_SMTP_USER"):
                smtp.login(cfg["CECP_SMTP_USER"], cfg.get("CECP_SMTP_PASSWORD") or "")
            smtp.send_message(msg)
