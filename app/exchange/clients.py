"""Machine clients (R-9.2): systems with their own accounts and API keys, never a person's
login.

A client owns a `user` row of class `machine`: its data scope is ordinary `user_scope`
rows and its permissions a role of its own (`machine:<name>`), so `permissions_accepted`,
`current_scope()` and the audit actor work for it exactly as for a person. The key is
shown once; only its HMAC-SM3 (keyed by the master key) is stored.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Iterable

from flask_security import hash_password
from sqlalchemy import select

from app.audit import service as audit
from app.crypto.hashing import hmac_sm3
from app.crypto.keys import purpose_key
from app.db import utcnow
from app.exchange.models import MachineClient
from app.extensions import db
from app.identity.models import Role, User
from app.identity.roles import ROLES

DEFAULT_PERMISSIONS = ("energy.write", "readings.write", "enterprise.read", "report.read")
EXTRA_PERMISSIONS = ("readings.write", "meters.write", "exchange.read", "enterprises.write",
                     "workflow.external", "workflow.message", "settlements.write",
                     # an exchange's own keys (app.onboarding.exchange_keys.SCOPES)
                     "lots.read", "holdings.read", "transfers.confirm", "grades.read")
#: never given to a machine
FORBIDDEN = {"admin.access", "users.manage", "keys.manage", "audit.export", "services.manage",
             "designer.deploy"}
PREFIX = "cecp_"


class ClientError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def known_permissions() -> set[str]:
    perms = {p for r in ROLES for p in r.permissions} | set(EXTRA_PERMISSIONS)
    return perms - FORBIDDEN


def _digest(key: str) -> str:
    return hmac_sm3(purpose_key("machine-client-key"), key.encode()).hex()


def get_by_name(*, name: str) -> MachineClient | None:
    return db.session.scalar(select(MachineClient).where(MachineClient.name == name))


def get_all() -> list[MachineClient]:
    return list(db.session.scalars(select(MachineClient).order_by(MachineClient.name)))


def create(*, name: str, enterprises: Iterable[str] = (), regions: Iterable[str] = (),
           permissions: Iterable[str] = (), created_by: str | None = None,
           institutions: Iterable[str] = ()) -> tuple[MachineClient, str]:
    """Create a client; returns it and its key (the only time the key exists in clear).
    `institutions`: institution codes, e.g. an exchange's, whose asset account it may see."""
    from app.identity.service import set_scopes
    from app.orgs.models import Enterprise

    name = (name or "").strip()
    if not name or len(name) > 60 or not all(c.isalnum() or c in "-_." for c in name):
        raise ClientError("name", "客户端名称须为 1-60 位字母、数字或 - _ .")
    if get_by_name(name=name) is not None:
        raise ClientError("name", f"客户端 {name} 已存在")
    perms = list(dict.fromkeys(permissions)) or list(DEFAULT_PERMISSIONS)
    bad = [p for p in perms if p not in known_permissions()]
    if bad:
        raise ClientError("scope", f"未知或不允许授予机器客户端的权限: {', '.join(bad)}")
    enterprises, regions = list(enterprises), list(regions)
    institutions = [i.strip() for i in institutions if i and i.strip()]
    for uscc in enterprises:
        if db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc)) is None:
            raise ClientError("enterprise", f"企业 {uscc} 不存在")
    if not enterprises and not regions and not institutions:
        raise ClientError("scope", "请至少指定一个企业 (--enterprise)、地区 (--region) 或机构"
                                   " (--institution)")
    role = Role(name=f"machine:{name}", label=f"机器客户端 {name}")
    role.permissions = perms
    user = User(email=f"{name.lower()}@machine.cecp", display_name=f"机器客户端 {name}",
                user_class="machine", active=True,
                password=hash_password(secrets.token_urlsafe(32)),
                fs_uniquifier=uuid.uuid4().hex)
    user.roles = [role]
    db.session.add_all([role, user])
    db.session.flush()
    set_scopes(user, [("enterprise", u) for u in enterprises]
               + [("region", r) for r in regions]
               + [("institution", i) for i in institutions], audited=False)
    prefix = secrets.token_hex(4)
    key = f"{PREFIX}{prefix}.{secrets.token_urlsafe(32)}"
    client = MachineClient(name=name, user_id=user.id, key_prefix=prefix, key_hash=_digest(key),
                           created_by=created_by)
    db.session.add(client)
    db.session.flush()
    audit.record("machine_client.create", object_type="machine_client", object_id=client.id,
                 summary={"name": name, "enterprises": enterprises, "regions": regions,
                          "institutions": institutions, "permissions": perms,
                          "by": created_by})
    return client, key


def revoke(*, name: str, by: str | None = None) -> MachineClient:
    client = get_by_name(name=name)
    if client is None:
        raise ClientError("name", f"客户端 {name} 不存在")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        client.user.active = False
        client.user.fs_uniquifier = uuid.uuid4().hex
        audit.record("machine_client.revoke", object_type="machine_client",
                     object_id=client.id, summary={"name": name, "by": by})
    return client


def authenticate(key: str | None) -> User | None:
    """The machine account a key belongs to, or None (unknown, malformed or revoked)."""
    if not key or not key.startswith(PREFIX) or "." not in key:
        return None
    prefix = key[len(PREFIX):].split(".", 1)[0]
    client = db.session.scalar(select(MachineClient).where(MachineClient.key_prefix == prefix))
    if client is None or client.revoked_at is not None:
        return None
    if not hmac.compare_digest(client.key_hash, _digest(key)):
        return None
    user = client.user
    return user if user.active else None


def authenticate_name(name: str, key: str) -> User | None:
    """WS-Security UsernameToken: the client name and its key."""
    user = authenticate(key)
    if user is None:
        return None
    client = db.session.scalar(select(MachineClient).where(MachineClient.user_id == user.id))
    return user if client is not None and client.name == name else None


def client_name(user) -> str | None:
    if getattr(user, "user_class", None) != "machine":
        return None
    return db.session.scalar(select(MachineClient.name).where(MachineClient.user_id == user.id))
