"""Each verification body's own SM2 key pair, certified by the platform key.

Kept small on purpose: the platform's document store (`app/documents`, per-organisation
signer keys) is being built beside this; when it lands, `sign` and `public_pem` switch to
it and statements become documents of that store. Until then the body key lives here: the
private key SM4-GCM encrypted by the active data key (as the platform key is), the public
key published as PEM with a certificate = a platform-signed token over the body, its name
and its public key (`app.crypto.signing.make_token`), so anyone holding the platform's
public key can check that the body key is the platform's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.crypto import signing, sm2
from app.crypto.fields import decrypt_text, encrypt_text
from app.extensions import db
from app.orgs.models import VerificationBody
from app.verification.models import BodyKey


def _aad(body_code: str) -> str:
    return f"verification_body_key.private_key_enc.{body_code}"


def get_key(*, body_code: str, create: bool = True) -> BodyKey | None:
    """The body's key row, created (flushed, certified) on first use."""
    row = db.session.scalar(select(BodyKey).where(BodyKey.body_code == body_code))
    if row is not None or not create:
        return row
    body = db.session.scalar(select(VerificationBody).where(VerificationBody.code == body_code))
    if body is None:
        raise LookupError(f"核查机构 {body_code} 不存在")
    private_hex, public_hex = sm2.generate_keypair()
    issued = datetime.now(UTC).isoformat(timespec="seconds")
    cert = signing.make_token({"kind": "verification_body_key", "body": body.code,
                               "name": body.name, "public_key": public_hex,
                               "issued_at": issued})
    row = BodyKey(body_code=body.code, public_key_hex=public_hex,
                  private_key_enc=encrypt_text(private_hex, _aad(body.code)), certificate=cert)
    db.session.add(row)
    db.session.flush()
    return row


def public_pem(*, body_code: str) -> str:
    row = get_key(body_code=body_code)
    assert row is not None
    return sm2.public_key_pem(row.public_key_hex)


def certificate(*, body_code: str) -> dict[str, Any]:
    """The certificate's payload, checked against the platform key (ValueError if not)."""
    row = get_key(body_code=body_code)
    assert row is not None
    payload = signing.read_token(row.certificate)
    if payload.get("public_key") != row.public_key_hex or payload.get("body") != body_code:
        raise ValueError(signing.INVALID_SIGNATURE)
    return payload


def sign(*, body_code: str, data: bytes) -> tuple[bytes, BodyKey]:
    """DER SM2 signature over SM3 with the default user id (OpenSSL: distid:1234567812345678)."""
    row = get_key(body_code=body_code)
    assert row is not None
    private_hex = decrypt_text(row.private_key_enc, _aad(row.body_code))
    assert private_hex is not None
    return sm2.sign(data, private_hex, row.public_key_hex), row


def verify(*, key: BodyKey, data: bytes, signature: bytes) -> bool:
    return sm2.verify(data, signature, key.public_key_hex)
