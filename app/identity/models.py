"""User, role and data-scope tables (Flask-Security fsqla_v3 plus our policy columns)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_security.models import fsqla_v3 as fsqla
from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crypto.fields import EncryptedField
from app.db import new_uid, utcnow
from app.extensions import db

fsqla.FsModels.set_db_info(appdb=db, user_table_name="user", role_table_name="role",
                           webauthn_table_name="webauthn")


class Role(db.Model, fsqla.FsRoleMixin):
    __tablename__ = "role"
    label: Mapped[str | None] = mapped_column(String(64))


class User(db.Model, fsqla.FsUserMixin):
    __tablename__ = "user"
    uid: Mapped[str] = mapped_column(String(32), default=new_uid, unique=True, nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(100))
    user_class: Mapped[str] = mapped_column(String(20), default="internal", nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    first_failed_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Changes with the user's roles, scopes or a role's permissions (app.identity.grants).
    authz_stamp: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                             nullable=False)
    # The last TOTP time step accepted: a code is good once (app.identity.totp).
    tf_totp_last_counter: Mapped[int | None] = mapped_column(BigInteger)

    scopes: Mapped[list[UserScope]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    phone = EncryptedField("phone_enc", index="phone_bidx")
    id_number = EncryptedField("id_number_enc", index="id_number_bidx")

    def ensure_uid(self) -> str:
        if not self.uid:
            self.uid = new_uid()
        return self.uid

    # Policy hooks Flask-Security calls (5.8+); the logic lives in identity.lockout.
    def track_failed_authn(self, auth_type: str, tfa: bool = False) -> None:
        from app.identity import lockout

        super().track_failed_authn(auth_type, tfa)
        lockout.register_failure(self, auth_type=auth_type, tfa=tfa)

    def is_locked(self, form_error: list[str] | None = None) -> bool:
        from app.identity import lockout

        if lockout.is_locked(self) and not lockout.resetting():
            from app.audit import refusals

            refusals.note("login.locked", user_id=self.id, email=self.email)
            if form_error is not None:
                form_error.append(lockout.locked_message(self))
            return True
        return False

    def check_tf_required(self, tf_setup_methods, tf_fresh):  # type: ignore[override]
        required, methods = super().check_tf_required(tf_setup_methods, tf_fresh)
        if self.requires_two_factor() and not tf_fresh:
            return True, methods
        return required, methods

    def check_tf_required_setup(self) -> bool:
        return self.requires_two_factor() or super().check_tf_required_setup()

    def requires_two_factor(self) -> bool:
        required = set(current_app.config.get("CECP_TF_REQUIRED_ROLES", []))
        return any(r.name in required for r in self.roles)

    @property
    def role_names(self) -> set[str]:
        return {r.name for r in self.roles}

    def label(self) -> str:
        return self.display_name or self.email


class WebAuthn(db.Model, fsqla.FsWebAuthnMixin):
    __tablename__ = "webauthn"


class UserScope(db.Model):
    """One grant of data: a region (GB/T 2260), an enterprise (USCC), an institution or a
    verification body (their codes). A user's data scope is the union of its rows."""

    __tablename__ = "user_scope"
    __table_args__ = (UniqueConstraint("user_id", "kind", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    user: Mapped[User] = relationship(back_populates="scopes")


class PasswordHistory(db.Model):
    """Previous password hashes, so the last N cannot be reused (R-5.2)."""

    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class WebSession(db.Model):
    """Server-side session data when there is no Redis (embedded mode); the cookie holds
    only the session id, so deleting the row ends the session (app.identity.sessions)."""

    __tablename__ = "web_session"
    session_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    expiry: Mapped[datetime] = mapped_column(DateTime, index=True, nullable=False)


class UserSession(db.Model):
    """One signed-in browser session, for the administrator's list (whichever store holds the
    session data): ending it deletes the stored session, so its cookie is dead."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True,
                                         nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
