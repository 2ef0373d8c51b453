"""TOTP codes that are good once: a code seen on the wire cannot be replayed.

Flask-Security leaves replay protection to the application (`Totp.get/set_last_counter`).
The last accepted time step is a column of the user; accepting a code moves it forward with
one guarded UPDATE, so two requests racing with the same code cannot both win (the second
waits for the first's row lock and then matches no row).
"""

from __future__ import annotations

from typing import Any

from flask_security.totp import Totp
from passlib.totp import TokenError
from sqlalchemy import or_, update

from app.extensions import db


class OnceTotp(Totp):
    def get_last_counter(self, user: Any) -> int | None:
        return getattr(user, "tf_totp_last_counter", None)

    def set_last_counter(self, user: Any, tmatch: Any) -> None:
        user.tf_totp_last_counter = tmatch.counter

    def verify_totp(self, token: str, totp_secret: str, user: Any, window: int = 0) -> bool:
        try:
            tmatch = self._totp.verify(
                token, totp_secret, window=window, last_counter=self.get_last_counter(user)
            )
        except TokenError:  # wrong, malformed, or already used (UsedTokenError)
            return False
        return claim_step(user, tmatch.counter)


def claim_step(user: Any, counter: int) -> bool:
    """Move the user's last accepted step to `counter` unless it is already there or
    beyond; True if this call did it."""
    from app.identity.models import User

    if user.id is None:  # not stored yet (cannot happen at login): nothing to guard
        user.tf_totp_last_counter = counter
        return True
    won = (
        db.session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.tf_totp_last_counter.is_(None), User.tf_totp_last_counter < counter),
            )
            .values(tf_totp_last_counter=counter)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    if won:
        db.session.flush()
        from sqlalchemy.orm.attributes import set_committed_value

        set_committed_value(user, "tf_totp_last_counter", counter)
    return won
