"""Account lifecycle (R-5.2): create, update, disable, soft-delete, sync; all audited."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from flask import current_app
from flask_security import hash_password
from sqlalchemy import select

from app.audit import service as audit
from app.db import utcnow
from app.extensions import db
from app.identity import password_policy
from app.identity.datascope import check_entry
from app.identity.models import Role, User, UserScope
from app.identity.roles import ROLE_NAMES, ROLES, USER_CLASSES, role_def


class AccountError(ValueError):
    """Bad account data; `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def ensure_roles() -> dict[str, Role]:
    """Create or refresh the built-in roles and their permissions (idempotent)."""
    out: dict[str, Role] = {}
    for rd in ROLES:
        role = db.session.scalar(select(Role).where(Role.name == rd.name))
        if role is None:
            role = Role(name=rd.name)
            db.session.add(role)
        role.label, role.description = rd.label, rd.label_en
        role.permissions = list(rd.permissions)
        out[rd.name] = role
    db.session.flush()
    return out


def get_by_email(*, email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def check_password(password: str, *, email: str, user: User | None = None) -> None:
    util = current_app.extensions["security"]._password_util
    if user is None:  # as at registration: the e-mail is the user info zxcvbn sees
        errors, _ = util.validate(password, True, email=email)
    else:
        errors, _ = util.validate(password, False, user=user)
    if errors:
        raise AccountError("password", "；".join(str(e) for e in errors))


def _roles(names: Iterable[str]) -> list[Role]:
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in ROLE_NAMES]
    if unknown:
        raise AccountError("roles", f"未知角色: {', '.join(unknown)}")
    by_name = ensure_roles()
    return [by_name[n] for n in names]


def check_scopes(scopes: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The entries as they will be granted (normalised), or AccountError naming the entry:
    an entry can never widen the scope (`datascope.check_entry`)."""
    wanted: set[tuple[str, str]] = set()
    for i, (kind, code) in enumerate(scopes):
        if code is None or (isinstance(code, str) and not code.strip()):
            continue
        try:
            wanted.add((kind, check_entry(kind, code)))
        except ValueError as exc:
            raise AccountError(f"scopes.{i}.code",
                               f"数据范围「{kind}:{code}」不能授予：{exc}") from exc
    return wanted


def parse_scope_text(text: str | None) -> list[tuple[str, str]]:
    """`kind:code, kind:code` (the administrator's form; Chinese commas too) as pairs; an
    entry without a kind is refused rather than dropped."""
    pairs = []
    for part in (text or "").replace("，", ",").split(","):
        if not part.strip():
            continue
        if ":" not in part:
            raise AccountError("scope_text", f"数据范围「{part.strip()}」应写作 类型:代码"
                                             "（如 region:330500）")
        kind, code = part.split(":", 1)
        pairs.append((kind.strip(), code.strip()))
    return pairs


def save_from_admin(user: User, *, is_created: bool, roles: Iterable[str],
                    scope_text: str | None, new_password: str | None) -> None:
    """The administrator's user form: password (policy and history), roles and scopes, each
    checked and audited here; the admin view only maps the form and commits."""
    scopes = parse_scope_text(scope_text)
    check_scopes(scopes)
    if new_password:
        check_password(new_password, email=user.email, user=user)
        user.password = hash_password(new_password)
    elif is_created:
        raise AccountError("new_password", "新建账户必须设置密码")
    if is_created and not user.fs_uniquifier:
        user.fs_uniquifier = uuid.uuid4().hex
    db.session.flush()
    if new_password:
        password_policy.remember(user)
    set_roles(user, roles)
    set_scopes(user, scopes)


def record_refusal(*, action: str, user: User | None, field: str, message: str,
                   request: dict[str, Any] | None = None) -> None:
    """A refused account change leaves its own audit record (the change itself is rolled
    back by the caller, which records this afterwards and commits)."""
    audit.record("permission.refused", object_type="user",
                 object_id=getattr(user, "id", None),
                 summary={"action": action, "field": field, "reason": message,
                          "request": request or {}})


def set_scopes(user: User, scopes: Iterable[tuple[str, str]], *, audited: bool = True) -> None:
    wanted = check_scopes(scopes)
    before = sorted((s.kind, s.code) for s in user.scopes)
    user.scopes = [s for s in user.scopes if (s.kind, s.code) in wanted]
    have = {(s.kind, s.code) for s in user.scopes}
    for kind, code in sorted(wanted - have):
        user.scopes.append(UserScope(kind=kind, code=code))
    after = sorted(wanted)
    if before != after and user.id and audited:
        audit.record("permission.scope_change", object_type="user", object_id=user.id,
                     summary={"before": before, "after": after})


def create(
    *,
    email: str,
    password: str,
    roles: Iterable[str],
    scopes: Iterable[tuple[str, str]] = (),
    display_name: str | None = None,
    user_class: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    check_policy: bool = True,
) -> User:
    email = (email or "").strip().lower()
    if "@" not in email:
        raise AccountError("email", "邮箱格式不正确")
    if get_by_email(email=email):
        raise AccountError("email", f"账户 {email} 已存在")
    role_objs = _roles(roles)
    scopes = list(scopes)
    check_scopes(scopes)  # refused before anything is written
    cls = user_class or (role_def(role_objs[0].name).user_class if role_objs else "internal")
    if cls not in USER_CLASSES:
        raise AccountError("user_class", f"未知用户类别: {cls}")
    if check_policy:
        check_password(password, email=email)
    user = User(email=email, display_name=display_name, user_class=cls,
                external_id=external_id, active=True,
                password=hash_password(password), fs_uniquifier=None)
    user.fs_uniquifier = uuid.uuid4().hex
    db.session.add(user)  # before the relationships and the encrypted field autoflush
    user.roles = role_objs
    user.phone = phone
    db.session.flush()
    password_policy.remember(user)
    set_scopes(user, scopes, audited=False)  # the create record below carries them
    audit.record("user.create", object_type="user", object_id=user.id,
                 summary={"email": email, "roles": [r.name for r in role_objs],
                          "scopes": sorted(scopes), "class": cls})
    return user


def set_roles(user: User, roles: Iterable[str]) -> None:
    before = sorted(user.role_names)
    user.roles = _roles(roles)
    after = sorted(user.role_names)
    if before != after:
        audit.record("permission.role_change", object_type="user", object_id=user.id,
                     summary={"before": before, "after": after})


def disable(user: User, *, reason: str | None = None) -> None:
    user.active = False
    audit.record("user.disable", object_type="user", object_id=user.id,
                 summary={"reason": reason})


def enable(user: User) -> None:
    user.active = True
    audit.record("user.enable", object_type="user", object_id=user.id)


def soft_delete(user: User) -> None:
    """Accounts are never erased: the audit trail must keep pointing at someone."""
    user.active = False
    user.deleted_at = utcnow()
    user.fs_uniquifier = uuid.uuid4().hex  # invalidates sessions and tokens
    audit.record("user.delete", object_type="user", object_id=user.id,
                 summary={"email": user.email})


def sync_external(external_id: str, data: dict[str, Any]) -> tuple[User, bool]:
    """Idempotent upsert from an external directory; returns (user, created)."""
    user = db.session.scalar(select(User).where(User.external_id == external_id))
    scopes = [(s["kind"], s["code"]) for s in data.get("scopes", [])]
    if user is None:
        password = data.get("password") or secrets.token_urlsafe(24) + "aA1!"
        user = create(email=data["email"], password=password, roles=data.get("roles", []),
                      scopes=scopes, display_name=data.get("display_name"),
                      user_class=data.get("user_class"), phone=data.get("phone"),
                      external_id=external_id)
        if data.get("active") is False:
            disable(user, reason="directory sync")
        return user, True
    changes: dict[str, Any] = {}
    for attr in ("display_name", "user_class"):
        if attr in data and getattr(user, attr) != data[attr]:
            changes[attr] = data[attr]
            setattr(user, attr, data[attr])
    if "email" in data and data["email"].strip().lower() != user.email:
        new = data["email"].strip().lower()
        if get_by_email(email=new):
            raise AccountError("email", f"账户 {new} 已存在")
        changes["email"] = new
        user.email = new
    if "phone" in data and data["phone"] != user.phone:
        user.phone = data["phone"]
        changes["phone"] = "***"
    if "roles" in data:
        set_roles(user, data["roles"])
    if "scopes" in data:
        set_scopes(user, scopes)
    if "active" in data and bool(data["active"]) != user.active:
        (enable if data["active"] else disable)(user)
    if user.deleted_at is not None and data.get("active", True):
        user.deleted_at = None
        changes["undeleted"] = True
    if changes:
        audit.record("user.update", object_type="user", object_id=user.id,
                     summary={"source": "sync", "changes": changes})
    return user, False

