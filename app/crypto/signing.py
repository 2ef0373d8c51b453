"""The platform's SM2 key pair and what it signs: documents and compact QR-code tokens.

The key pair lives in `platform_key` (name "platform"); its private key is SM4-GCM
encrypted by the active data key (`fields.encrypt_text`) bound to
`platform_key.private_key_enc.platform`, so `rotation.rotate_data_keys` re-encrypts it.
It is created on first use and only flushed: the caller's unit of work commits it.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.crypto import sm2
from app.crypto.fields import decrypt_text, encrypt_text
from app.crypto.models import PlatformKey
from app.extensions import db

PLATFORM_KEY_NAME = "platform"
INVALID_SIGNATURE = "签名无效"


def private_key_aad(name: str = PLATFORM_KEY_NAME) -> str:
    """Associated data of a PlatformKey's encrypted private key (table.column.name)."""
    return f"{PlatformKey.__tablename__}.private_key_enc.{name}"


def _row(create: bool) -> PlatformKey | None:
    stmt = select(PlatformKey).where(PlatformKey.name == PLATFORM_KEY_NAME)
    row = db.session.scalar(stmt)
    if row is not None or not create:
        return row
    private_hex, public_hex = sm2.generate_keypair()
    row = PlatformKey(
        name=PLATFORM_KEY_NAME,
        public_key_hex=public_hex,
        private_key_enc=encrypt_text(private_hex, private_key_aad()),
    )
    try:
        with db.session.begin_nested():  # another process may create it at the same time
            db.session.add(row)
    except IntegrityError:
        row = db.session.scalar(stmt)
        if row is None:
            raise
    return row


def platform_keypair() -> tuple[str, str]:
    """(private_hex, public_hex) of the platform key, created (flushed) on first use."""
    row = _row(create=True)
    assert row is not None
    private_hex = decrypt_text(row.private_key_enc, private_key_aad(row.name))
    assert private_hex is not None
    return private_hex, row.public_key_hex


def public_hex() -> str:
    row = _row(create=True)
    assert row is not None
    return row.public_key_hex


def public_pem() -> str:
    """The platform public key as PEM SubjectPublicKeyInfo (`cecp keys export-public`)."""
    return sm2.public_key_pem(public_hex())


def sign_document(data: bytes) -> bytes:
    """DER SM2 signature; `openssl pkeyutl -verify ... -pkeyopt distid:1234567812345678`."""
    private_hex, pub = platform_keypair()
    return sm2.sign(data, private_hex, pub)


def verify_document(data: bytes, sig: bytes, public_pem: str | None = None) -> bool:
    """Check a signature against `public_pem`, or the platform key when None. Never raises
    for a bad signature or key; False when the platform has no key yet."""
    if public_pem is None:
        row = _row(create=False)
        if row is None:
            return False
        pub = row.public_key_hex
    else:
        try:
            pub = sm2.load_public_pem(public_pem)
        except ValueError:
            return False
    return sm2.verify(data, sig, pub)


# --- compact signed tokens (QR codes) ---------------------------------------------------


def canonical_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict unpadded base64url: exactly the form `_b64` produces, nothing else."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(INVALID_SIGNATURE) from exc
    if not data or _b64(data) != text:
        raise ValueError(INVALID_SIGNATURE)
    return data


def make_token(payload: dict[str, Any]) -> str:
    """`base64url(canonical JSON).base64url(DER SM2 signature)`, unpadded.

    Only JSON types round-trip (convert dates and decimals to strings first).
    """
    if not isinstance(payload, dict):
        raise TypeError("payload 必须是 dict")
    body = canonical_json(payload)
    return f"{_b64(body)}.{_b64(sign_document(body))}"


def read_token(token: str, public_pem: str | None = None) -> dict[str, Any]:
    """The payload of a token signed by the platform (or `public_pem`), else
    ValueError('签名无效')."""
    if not isinstance(token, str) or token.count(".") != 1:
        raise ValueError(INVALID_SIGNATURE)
    body_b64, sig_b64 = token.split(".")
    body, sig = _unb64(body_b64), _unb64(sig_b64)
    if not verify_document(body, sig, public_pem):
        raise ValueError(INVALID_SIGNATURE)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:  # pragma: no cover - we signed it
        raise ValueError(INVALID_SIGNATURE) from exc
    if not isinstance(payload, dict):  # pragma: no cover - we only sign dicts
        raise ValueError(INVALID_SIGNATURE)
    return payload
