"""Password policy beyond Flask-Security (R-5.2): character classes, no e-mail name,
history, expiry. Length and zxcvbn score come from Flask-Security's own checks."""

from __future__ import annotations

import string
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_security import PasswordUtil, verify_password
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db

CLASSES = (
    ("小写字母", set(string.ascii_lowercase)),
    ("大写字母", set(string.ascii_uppercase)),
    ("数字", set(string.digits)),
)


def character_classes(password: str) -> int:
    present = sum(1 for _, chars in CLASSES if any(c in chars for c in password))
    others = any(not (c.isascii() and c.isalnum()) for c in password)
    return present + (1 if others else 0)


def email_name(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.split("@", 1)[0].lower()


def policy_errors(password: str, *, email: str | None, user: Any = None) -> list[str]:
    errors: list[str] = []
    need = current_app.config["CECP_PASSWORD_MIN_CLASSES"]
    if character_classes(password) < need:
        errors.append(f"密码须至少包含大写字母、小写字母、数字、特殊字符中的 {need} 类")
    name = email_name(email)
    if name and len(name) >= 3 and name in password.lower():
        errors.append("密码不得包含邮箱用户名")
    if user is not None and getattr(user, "id", None) and reused(user, password):
        n = current_app.config["CECP_PASSWORD_HISTORY"]
        errors.append(f"不得重复使用最近 {n} 次用过的密码")
    return errors


def reused(user: Any, password: str) -> bool:
    from app.identity.models import PasswordHistory

    n = current_app.config["CECP_PASSWORD_HISTORY"]
    if n <= 0:
        return False
    hashes = db.session.scalars(
        select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc()).limit(n)
    ).all()
    return any(verify_password(password, h) for h in hashes)


def remember(user: Any) -> None:
    """Called on every password set: keep the hash in history and restart expiry."""
    from app.identity.models import PasswordHistory

    if user.password:
        db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password))
    user.password_changed_at = utcnow()


def expired(user: Any) -> bool:
    days = current_app.config["CECP_PASSWORD_EXPIRY_DAYS"]
    if days <= 0 or user.password_changed_at is None:
        return False
    return utcnow() - user.password_changed_at > timedelta(days=days)


def guessable(password: str, user_inputs: list[str]) -> bool:
    import zxcvbn

    minimum = current_app.config["SECURITY_ZXCVBN_MINIMUM_SCORE"]
    return zxcvbn.zxcvbn(password, user_inputs=user_inputs[:20])["score"] < minimum


class CecpPasswordUtil(PasswordUtil):
    """Length (Flask-Security's message), zxcvbn with a Chinese message, then our rules."""

    def validate(self, password: str, is_register: bool, **kwargs: Any):
        from flask_security.password_util import password_length_validator

        normalised = self.normalize(password)
        errors = list(password_length_validator(normalised) or [])
        user = kwargs.get("user")
        email = kwargs.get("email") or getattr(user, "email", None)
        inputs = [v for v in (email, email_name(email), getattr(user, "display_name", None))
                  if isinstance(v, str) and v]
        if not errors and guessable(normalised, inputs):
            errors.append("密码强度不足（zxcvbn 评分低于要求，易被猜到），"
                          "请使用更长、不常见的字符组合")
        errors += policy_errors(normalised, email=email, user=user)
        return (errors or None), normalised
