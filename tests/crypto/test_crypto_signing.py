"""The platform key pair in the database, document signatures and QR tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.crypto import signing, sm2
from app.crypto.fields import decrypt_text
from app.crypto.models import PlatformKey
from app.crypto.sm4 import DecryptionError

DOC = "工业碳效码 评价报告\n".encode() * 20


def test_platform_keypair_created_once_and_encrypted(db):
    assert signing.verify_document(b"x", b"\x30\x00") is False  # no key yet, no error
    assert db.session.scalar(select(func.count()).select_from(PlatformKey)) == 0
    private_hex, public_hex = signing.platform_keypair()
    assert signing.platform_keypair() == (private_hex, public_hex)
    assert sm2.public_from_private(private_hex) == public_hex
    db.session.commit()
    db.session.expire_all()

    row = db.session.scalar(select(PlatformKey))
    assert row.name == "platform" and row.public_key_hex == public_hex
    assert row.private_key_enc.startswith("sm4gcm:v1:")
    assert private_hex not in row.private_key_enc
    aad = "platform_key.private_key_enc.platform"
    assert signing.private_key_aad() == aad
    assert decrypt_text(row.private_key_enc, aad) == private_hex
    with pytest.raises(DecryptionError):
        decrypt_text(row.private_key_enc, "platform_key.private_key_enc.other")
    assert db.session.scalar(select(func.count()).select_from(PlatformKey)) == 1


def test_sign_and_verify_document(db):
    sig = signing.sign_document(DOC)
    assert signing.verify_document(DOC, sig)
    assert not signing.verify_document(DOC + b" ", sig)
    assert not signing.verify_document(DOC, sig[:-1] + bytes([sig[-1] ^ 1]))
    assert signing.sign_document(DOC) != sig
    pem = signing.public_pem()
    assert sm2.load_public_pem(pem) == signing.platform_keypair()[1]
    assert signing.verify_document(DOC, sig, public_pem=pem)
    other_private, other_public = sm2.generate_keypair()
    assert not signing.verify_document(DOC, sig, public_pem=sm2.public_key_pem(other_public))
    assert signing.verify_document(
        DOC, sm2.sign(DOC, other_private, other_public), sm2.public_key_pem(other_public))
    assert not signing.verify_document(DOC, sig, public_pem="not a pem")


def test_key_survives_commit_and_new_session(db, app):
    public_before = signing.platform_keypair()[1]
    sig = signing.sign_document(DOC)
    db.session.commit()
    db.session.remove()
    app.extensions.pop("cecp_data_keys", None)  # force unwrapping from the DB again
    assert signing.platform_keypair()[1] == public_before
    assert signing.verify_document(DOC, sig)


def test_token_roundtrip(db):
    payload = {"code": "330500-2026-0001", "企业": "湖州某某有限公司", "grade": 3,
               "score": 87.5, "ok": True, "tags": ["A", None]}
    token = signing.make_token(payload)
    assert signing.read_token(token) == payload
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-_.")
    assert len(token) < 400  # fits a QR code comfortably
    # canonical JSON: key order does not matter
    swapped = signing.make_token({"b": 1, "a": 2})
    assert swapped.split(".")[0] == signing.make_token({"a": 2, "b": 1}).split(".")[0]
    with pytest.raises(TypeError):
        signing.make_token(["not", "a", "dict"])  # type: ignore[arg-type]


def test_token_tampering_is_rejected(db):
    token = signing.make_token({"code": "330500-2026-0001", "grade": 3})
    other = signing.make_token({"code": "330500-2026-0002", "grade": 1})
    body, sig = token.split(".")
    forged_body = signing._b64(signing.canonical_json({"code": "330500-2026-0001",
                                                       "grade": 1}))
    other_private, other_public = sm2.generate_keypair()
    foreign_sig = signing._b64(sm2.sign(signing._unb64(body), other_private, other_public))
    bad_tokens = [
        "", ".", "abc", "a.b.c", body, f"{body}.", f".{sig}",
        f"{forged_body}.{sig}",
        f"{body}.{other.split('.')[1]}",
        f"{other.split('.')[0]}.{sig}",
        f"{body}.{foreign_sig}",
        f"{body}=.{sig}",  # padding is not our form
        f"{body}.{sig}==",
        f"{body.replace('-', '+').replace('_', '/')}.{sig}" if ("-" in body or "_" in body)
        else f"{body}!.{sig}",
        f"{body[:-1]}{'A' if body[-1] != 'A' else 'B'}.{sig}",
        token + "A",
    ]
    for bad in bad_tokens:
        with pytest.raises(ValueError, match="^签名无效$"):
            signing.read_token(bad)
    with pytest.raises(ValueError, match="签名无效"):
        signing.read_token(None)  # type: ignore[arg-type]
    assert signing.read_token(token)["grade"] == 3
    # a token from another key reads with that key's PEM only
    foreign = f"{body}.{foreign_sig}"
    assert signing.read_token(foreign, public_pem=sm2.public_key_pem(other_public))["grade"] == 3


def test_concurrent_creation_keeps_the_first_key(db, monkeypatch):
    """Another process creates the platform key between our SELECT and our INSERT."""
    from app.crypto.fields import encrypt_text
    from app.crypto.keys import active_data_key

    active_data_key()
    db.session.commit()
    winner_private, winner_public = sm2.generate_keypair()
    winner_enc = encrypt_text(winner_private, signing.private_key_aad())
    real_generate = sm2.generate_keypair

    def racing_generate():
        with db.engine.begin() as conn:  # a separate connection and transaction
            conn.execute(PlatformKey.__table__.insert().values(
                name="platform", public_key_hex=winner_public, private_key_enc=winner_enc))
        return real_generate()

    monkeypatch.setattr(signing.sm2, "generate_keypair", racing_generate)
    assert signing.platform_keypair() == (winner_private, winner_public)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(PlatformKey)) == 1
