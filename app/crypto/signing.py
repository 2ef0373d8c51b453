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
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.crypto import sm2
from app.crypto.fields import decrypt_text, encrypt_text
from app.crypto.models import PlatformKey
from app.db import utcnow
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


#: tokens already signed, per (platform public key, body): a page showing a code signs its
#: token once per process instead of once per view (an SM2 signature costs ~12 ms of CPU)
_TOKENS: OrderedDict[tuple[str, bytes], str] = OrderedDict()
_TOKENS_MAX = 4096
_TOKENS_LOCK = threading.Lock()


def make_token(payload: dict[str, Any]) -> str:
    """`base64url(canonical JSON).base64url(DER SM2 signature)`, unpadded.

    Only JSON types round-trip (convert dates and decimals to strings first). The same
    payload under the same key gives the same token (a signature made once stays valid).
    """
    if not isinstance(payload, dict):
        raise TypeError("payload 必须是 dict")
    body = canonical_json(payload)
    row = _row(create=True)
    assert row is not None
    key = (row.public_key_hex, body)
    with _TOKENS_LOCK:
        token = _TOKENS.get(key)
        if token is not None:
            _TOKENS.move_to_end(key)
            return token
    token = f"{_b64(body)}.{_b64(sign_document(body))}"
    with _TOKENS_LOCK:
        _TOKENS[key] = token
        while len(_TOKENS) > _TOKENS_MAX:
            _TOKENS.popitem(last=False)
    return token


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


# --- signers: the platform key and certified organisation keys --------------------------


class Signer(Protocol):
    """What signs a document: a key id (named in the document row, resolvable to a
    public key at `/api/v1/keys/<key_id>.pem`) and a DER SM2 signature over bytes."""

    key_id: str

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeySigner:
    """A signer backed by a `platform_key` row (the platform's or an organisation's)."""

    key_id: str

    def sign(self, data: bytes) -> bytes:
        if self.key_id == PLATFORM_KEY_NAME:
            return sign_document(data)  # creates (flushes) the platform key on first use
        row = _key_row(self.key_id)
        if row is None or row.revoked_at is not None:
            raise LookupError(f"签名密钥不存在或已吊销: {self.key_id}")
        private_hex = decrypt_text(row.private_key_enc, private_key_aad(row.name))
        assert private_hex is not None
        return sm2.sign(data, private_hex, row.public_key_hex)


_KEY_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,39}\Z")


def _key_row(key_id: str) -> PlatformKey | None:
    if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
        return None
    if key_id == PLATFORM_KEY_NAME:
        return _row(create=False)  # reading never creates it (a GET would not commit it)
    return db.session.scalar(select(PlatformKey).where(PlatformKey.name == key_id))


def platform_signer() -> KeySigner:
    """The default signer of every document."""
    return KeySigner(PLATFORM_KEY_NAME)


def get_signer(key_id: str) -> KeySigner:
    """A signer for a known, unrevoked key id, else LookupError."""
    if key_id == PLATFORM_KEY_NAME:
        return platform_signer()
    row = _key_row(key_id)
    if row is None or row.revoked_at is not None:
        raise LookupError(f"签名密钥不存在或已吊销: {key_id}")
    return KeySigner(row.name)


def public_pem_for(key_id: str) -> str | None:
    """The PEM public key of a key id (platform or organisation), None when unknown. A
    revoked key still answers: documents it signed stay checkable."""
    row = _key_row(key_id)
    return None if row is None else sm2.public_key_pem(row.public_key_hex)


def key_info(key_id: str) -> dict[str, Any] | None:
    """Public facts of a key: id, owner, PEM, certificate (a platform token), validity."""
    row = _key_row(key_id)
    if row is None:
        return None
    return {
        "key_id": row.name,
        "owner_type": row.owner_type or "platform",
        "owner_id": row.owner_id,
        "algorithm": "SM2 (SM3, user id 1234567812345678)",
        "public_key_pem": sm2.public_key_pem(row.public_key_hex),
        "certificate": row.certificate,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "certified": row.name == PLATFORM_KEY_NAME or certificate_valid(row.name),
    }


def _certificate_payload(row: PlatformKey) -> dict[str, Any]:
    return {
        "typ": "cecp.key-certificate",
        "key_id": row.name,
        "owner_type": row.owner_type,
        "owner_id": row.owner_id,
        "public_key": row.public_key_hex,
        "alg": "SM2-SM3",
        "issued_at": row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def create_org_key(*, owner_type: str, owner_id: str) -> KeySigner:
    """A new SM2 key pair for an organisation (e.g. owner_type "verification_body",
    owner_id its code), its private key encrypted like the platform's (rotated with the
    data keys), its public key certified by the platform key. Flushes; the caller commits
    and audits. Earlier keys of the same owner stay valid for what they signed."""
    if not owner_type or not owner_id:
        raise ValueError("owner_type 与 owner_id 不能为空")
    slug = re.sub(r"[^A-Za-z0-9]", "", f"{owner_type[:2]}{owner_id}")[:28] or "org"
    n = 1 + (
        db.session.scalar(
            select(func.count())
            .select_from(PlatformKey)
            .where(PlatformKey.owner_type == owner_type, PlatformKey.owner_id == owner_id)
        )
        or 0
    )
    name = f"{slug}-{n}"
    private_hex, public_hex_ = sm2.generate_keypair()
    row = PlatformKey(
        name=name,
        public_key_hex=public_hex_,
        owner_type=owner_type,
        owner_id=owner_id,
        created_at=utcnow(),
        private_key_enc=encrypt_text(private_hex, private_key_aad(name)),
    )
    row.certificate = make_token(_certificate_payload(row))
    db.session.add(row)
    db.session.flush()
    return KeySigner(name)


def org_key(*, owner_type: str, owner_id: str) -> KeySigner | None:
    """The newest unrevoked key of an organisation, None when it has none."""
    row = db.session.scalar(
        select(PlatformKey)
        .where(
            PlatformKey.owner_type == owner_type,
            PlatformKey.owner_id == owner_id,
            PlatformKey.revoked_at.is_(None),
        )
        .order_by(PlatformKey.id.desc())
        .limit(1)
    )
    return None if row is None else KeySigner(row.name)


def revoke_key(key_id: str) -> bool:
    """Stop a key from signing (documents it signed stay valid). Flushes."""
    row = _key_row(key_id)
    if row is None or row.name == PLATFORM_KEY_NAME:
        return False
    row.revoked_at = row.revoked_at or utcnow()
    db.session.flush()
    return True


def certificate_valid(key_id: str) -> bool:
    """True for the platform key, and for an organisation key whose certificate is signed
    by the platform key and names exactly this row's id, owner and public key."""
    row = _key_row(key_id)
    if row is None:
        return False
    if row.name == PLATFORM_KEY_NAME:
        return True
    if not row.certificate:
        return False
    try:
        payload = read_token(row.certificate)
    except ValueError:
        return False
    return payload == _certificate_payload(row)


def verify_with_key(data: bytes, sig: bytes, key_id: str) -> bool:
    """A signature by `key_id` over `data`, the key certified by the platform. Never
    raises; False for an unknown key id."""
    row = _key_row(key_id)
    if row is None or not certificate_valid(row.name):
        return False
    return sm2.verify(data, sig, row.public_key_hex)
