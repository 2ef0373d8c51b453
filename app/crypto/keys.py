"""Key hierarchy: a master key from configuration wraps versioned data keys stored in the DB.

Each ciphertext names its data-key version, so keys can rotate without a flag day.
"""

from __future__ import annotations

import os

from flask import current_app
from sqlalchemy import select

from app.crypto.hashing import derive_key
from app.crypto.models import DataKey
from app.crypto.sm4 import sm4_gcm_decrypt, sm4_gcm_encrypt
from app.extensions import db


def master_key() -> bytes:
    raw = current_app.config["CECP_MASTER_KEY"].strip()
    try:
        key = bytes.fromhex(raw)
    except ValueError as exc:
        raise RuntimeError("CECP_MASTER_KEY 必须是 32 位十六进制字符串 (16 字节)") from exc
    if len(key) != 16:
        raise RuntimeError("CECP_MASTER_KEY 必须是 16 字节 (32 位十六进制)")
    return key


def purpose_key(purpose: str) -> bytes:
    """A sub-key of the master key for one purpose (audit chain, blind index, ...)."""
    return derive_key(master_key(), purpose)


def _cache() -> dict[int, bytes]:
    return current_app.extensions.setdefault("cecp_data_keys", {})


def _unwrap(row: DataKey) -> bytes:
    cache = _cache()
    if row.version not in cache:
        aad = f"datakey:v{row.version}".encode()
        cache[row.version] = sm4_gcm_decrypt(master_key(), row.wrapped, aad)
    return cache[row.version]


def create_data_key() -> DataKey:
    """A fresh data key, wrapped by the master key; it becomes the active one."""
    current = db.session.scalar(select(db.func.max(DataKey.version))) or 0
    version = current + 1
    key = os.urandom(16)
    row = DataKey(
        version=version,
        wrapped=sm4_gcm_encrypt(master_key(), key, f"datakey:v{version}".encode()),
    )
    db.session.add(row)
    db.session.flush()
    _cache()[version] = key
    return row


def active_data_key() -> tuple[int, bytes]:
    row = db.session.scalar(select(DataKey).order_by(DataKey.version.desc()).limit(1))
    if row is None:
        row = create_data_key()
    return row.version, _unwrap(row)


def data_key(version: int) -> bytes:
    cache = _cache()
    if version in cache:
        return cache[version]
    row = db.session.get(DataKey, version)
    if row is None:
        raise KeyError(f"数据密钥版本 {version} 不存在")
    return _unwrap(row)
