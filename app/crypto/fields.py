"""Field encryption at rest (SM4-GCM) bound to table, column and row, plus blind indexes."""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Callable
from typing import Any

from app.crypto.hashing import hmac_sm3
from app.crypto.keys import active_data_key, data_key, purpose_key
from app.crypto.sm4 import DecryptionError, sm4_gcm_decrypt, sm4_gcm_encrypt

PREFIX = "sm4gcm"
#: every (model class, EncryptedField) pair, for key rotation
REGISTRY: list[tuple[type, EncryptedField]] = []


def encrypt_text(plaintext: str | None, aad: str) -> str | None:
    if plaintext is None:
        return None
    version, key = active_data_key()
    blob = sm4_gcm_encrypt(key, plaintext.encode(), aad.encode())
    return f"{PREFIX}:v{version}:{base64.urlsafe_b64encode(blob).decode()}"


def token_version(token: str) -> int:
    prefix, version, _ = token.split(":", 2)
    if prefix != PREFIX or not version.startswith("v"):
        raise DecryptionError("不是本平台的密文格式")
    return int(version[1:])


def decrypt_text(token: str | None, aad: str) -> str | None:
    if token is None:
        return None
    version = token_version(token)
    blob = base64.urlsafe_b64decode(token.split(":", 2)[2])
    return sm4_gcm_decrypt(data_key(version), blob, aad.encode()).decode()


def blind_index(value: str | None, purpose: str) -> str | None:
    """Deterministic HMAC-SM3 so an encrypted field can be searched by exact value."""
    if value is None:
        return None
    norm = unicodedata.normalize("NFKC", value).strip().lower()
    return hmac_sm3(purpose_key(f"bidx:{purpose}"), norm.encode()).hex()[:32]


class EncryptedField:
    """Descriptor: `phone = EncryptedField("phone_enc", index="phone_bidx")`.

    The associated data is table.column.uid, so a ciphertext copied to another row or
    column fails to decrypt instead of leaking.
    """

    def __init__(
        self,
        column: str,
        index: str | None = None,
        normalise: Callable[[str], str] | None = None,
    ) -> None:
        self.column = column
        self.index = index
        self.normalise = normalise

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        REGISTRY.append((owner, self))

    def aad(self, obj: Any) -> str:
        return f"{obj.__tablename__}.{self.column}.{obj.ensure_uid()}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return decrypt_text(getattr(obj, self.column), self.aad(obj))

    def __set__(self, obj: Any, value: str | None) -> None:
        if value is not None and self.normalise:
            value = self.normalise(value)
        if value == "":
            value = None
        setattr(obj, self.column, encrypt_text(value, self.aad(obj)))
        if self.index:
            setattr(obj, self.index, blind_index(value, f"{obj.__tablename__}.{self.name}"))

    def index_value(self, owner: type, value: str) -> str | None:
        if self.normalise:
            value = self.normalise(value)
        return blind_index(value, f"{owner.__tablename__}.{self.name}")
