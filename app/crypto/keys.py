"""Key hierarchy: the master key from configuration only wraps; the secrets it wraps are
versioned rows in the database, shared by every node that has the same master key.

- data keys (`DataKey`): SM4 keys for fields at rest; each ciphertext names its version;
- HMAC roots (`HmacRoot`): roots of the HMAC-SM3 sub-keys. The audit chain uses the root
  the chain head names and every record stores that version, so a rotation never makes
  the chain look tampered; blind indexes and seals use root version 1, which never
  changes (an exact-value lookup needs one stable key).

Version 0 of the chain is the legacy key derived from the master key itself (records
written before HMAC roots existed); it is only ever used to verify them.
"""

from __future__ import annotations

import os
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select

from app.crypto.hashing import derive_key
from app.crypto.models import DataKey, HmacRoot
from app.crypto.sm4 import sm4_gcm_decrypt, sm4_gcm_encrypt
from app.db import utcnow
from app.extensions import db

#: the HMAC root of the keys that never rotate (blind indexes, seals)
STABLE_ROOT = 1
LEGACY_CHAIN = 0


def master_key() -> bytes:
    raw = current_app.config["CECP_MASTER_KEY"].strip()
    try:
        key = bytes.fromhex(raw)
    except ValueError as exc:
        raise RuntimeError("CECP_MASTER_KEY 必须是 32 位十六进制字符串 (16 字节)") from exc
    if len(key) != 16:
        raise RuntimeError("CECP_MASTER_KEY 必须是 16 字节 (32 位十六进制)")
    return key


def _cache() -> dict[Any, bytes]:
    return current_app.extensions.setdefault("cecp_data_keys", {})


# -- wrapped, versioned secrets -------------------------------------------------------------

_KINDS = {"data": (DataKey, "datakey", 16), "hmac": (HmacRoot, "hmacroot", 32)}


def _cache_key(kind: str, version: int) -> Any:
    return version if kind == "data" else (kind, version)


def _latest(kind: str) -> int | None:
    model = _KINDS[kind][0]
    return db.session.scalar(select(func.max(model.version)))


def _create(kind: str, version: int, *, bootstrap: bool = False) -> int:
    """Insert `version` with a fresh secret unless another node just did (a first use on
    two nodes at once is not an error); the secret is read back from the row.

    A bootstrap key (the first of its kind) commits on its own on PostgreSQL: every node
    must see the same one even if the unit of work that needed it rolls back. A rotated
    key commits with the rotation, and is not cached until then (a rolled-back rotation
    must not leave a key in the cache that the database never kept)."""
    model, label, size = _KINDS[kind]
    secret = os.urandom(size)
    values = {"version": version, "created_at": utcnow(),
              "wrapped": sm4_gcm_encrypt(master_key(), secret, f"{label}:v{version}".encode())}
    table = model.__table__
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).values(values).on_conflict_do_nothing()
        if bootstrap:
            with db.engine.begin() as own:
                own.execute(stmt)
        else:
            conn.execute(stmt)
    else:  # the embedded default: one node, one connection
        conn.execute(insert(table).values(values).prefix_with("OR IGNORE"))
    if not bootstrap or conn.dialect.name != "postgresql":
        _uncommitted()[_cache_key(kind, version)] = None
    _cache().pop(_cache_key(kind, version), None)
    return version


def _uncommitted() -> dict[Any, bytes | None]:
    """Keys created in the session's current transaction: cached here, for this
    transaction only, until it commits (then they are read again and cached for good)."""
    session = db.session()
    held = session.info.get("cecp_new_keys")
    transaction = session.get_transaction()
    if held is None or held[0] is not transaction:
        held = session.info["cecp_new_keys"] = (transaction, {})
    return held[1]


def _secret(kind: str, version: int) -> bytes:
    cache, key = _cache(), _cache_key(kind, version)
    if key in cache:
        return cache[key]
    pending = _uncommitted()
    if pending.get(key) is not None:
        return pending[key]
    model, label, _ = _KINDS[kind]
    wrapped = db.session.execute(select(model.__table__.c.wrapped).where(
        model.__table__.c.version == version)).scalar()
    if wrapped is None:
        name = "数据密钥" if kind == "data" else "HMAC 根密钥"
        raise KeyError(f"{name}版本 {version} 不存在")
    secret = sm4_gcm_decrypt(master_key(), wrapped, f"{label}:v{version}".encode())
    (pending if key in pending else cache)[key] = secret
    return secret


def _active(kind: str) -> int:
    return _latest(kind) or _create(kind, 1, bootstrap=True)


# -- data keys (SM4, fields at rest) --------------------------------------------------------


def create_data_key() -> int:
    """A fresh data key after the newest one; it becomes the active one. Returns its
    version."""
    return _create("data", (_latest("data") or 0) + 1)


def active_data_key() -> tuple[int, bytes]:
    version = _active("data")
    return version, _secret("data", version)


def data_key(version: int) -> bytes:
    return _secret("data", version)


# -- HMAC roots -----------------------------------------------------------------------------


def create_hmac_root() -> int:
    """A fresh HMAC root after the newest one (the chain moves to it when told so, see
    `app.audit.service.use_key_version`). Returns its version."""
    return _create("hmac", (_latest("hmac") or 0) + 1)


def active_hmac_version() -> int:
    return _active("hmac")


def hmac_root(version: int) -> bytes:
    return _secret("hmac", version)


def purpose_key(purpose: str) -> bytes:
    """A stable sub-key for one purpose (blind index, seal): from HMAC root 1, never from
    the master key, and unchanged by rotations."""
    try:
        root = hmac_root(STABLE_ROOT)
    except KeyError:
        _create("hmac", STABLE_ROOT, bootstrap=True)
        root = hmac_root(STABLE_ROOT)
    return derive_key(root, purpose)


def chain_key(version: int) -> bytes:
    """The audit chain's key of `version` (0: the legacy master-derived key)."""
    if version == LEGACY_CHAIN:
        return derive_key(master_key(), "audit-chain")
    return derive_key(hmac_root(version), "audit-chain")
