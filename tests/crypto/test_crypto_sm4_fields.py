"""SM4-GCM and EncryptedField (ciphertext bound to its row, blind indexes)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from app.crypto.sm4 import DecryptionError, sm4_gcm_decrypt, sm4_gcm_encrypt

KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_sm4_gcm_roundtrip():
    for plain in (b"", b"x", "联系人 张三 13800138000".encode() * 50):
        blob = sm4_gcm_encrypt(KEY, plain, b"enterprise.contact_name_enc.abc")
        assert len(blob) == 12 + len(plain) + 16
        assert sm4_gcm_decrypt(KEY, blob, b"enterprise.contact_name_enc.abc") == plain
    a, b = sm4_gcm_encrypt(KEY, b"same"), sm4_gcm_encrypt(KEY, b"same")
    assert a != b  # fresh nonce every time


def test_sm4_gcm_wrong_aad_or_key_fails():
    blob = sm4_gcm_encrypt(KEY, b"secret", b"t.c.row1")
    with pytest.raises(DecryptionError):
        sm4_gcm_decrypt(KEY, blob, b"t.c.row2")
    with pytest.raises(DecryptionError):
        sm4_gcm_decrypt(KEY, blob, b"")
    with pytest.raises(DecryptionError):
        sm4_gcm_decrypt(os.urandom(16), blob, b"t.c.row1")


def test_sm4_gcm_tamper_fails():
    blob = sm4_gcm_encrypt(KEY, b"secret value", b"aad")
    for i in range(len(blob)):  # nonce, ciphertext and tag
        bad = bytearray(blob)
        bad[i] ^= 0x80
        with pytest.raises(DecryptionError):
            sm4_gcm_decrypt(KEY, bytes(bad), b"aad")
    with pytest.raises(DecryptionError):
        sm4_gcm_decrypt(KEY, blob[:20], b"aad")


def test_encrypted_field_roundtrip(db, make_enterprise):
    from app.orgs.models import Enterprise

    ent = make_enterprise(contact_name="张三", contact_phone="13800138000")
    token = ent.contact_phone_enc
    assert token.startswith("sm4gcm:v1:")
    assert "13800138000" not in token
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Enterprise, ent.id)
    assert again.contact_name == "张三"
    assert again.contact_phone == "13800138000"
    assert again.legal_id_number is None
    again.contact_name = ""  # empty means absent
    assert again.contact_name_enc is None


def test_ciphertext_copied_to_another_row_or_column_fails(db, make_enterprise):
    a = make_enterprise(contact_phone="13800138000", contact_name="张三")
    b = make_enterprise(contact_phone="13900139000")
    b.contact_phone_enc = a.contact_phone_enc  # another row, same column
    with pytest.raises(DecryptionError):
        _ = b.contact_phone
    a.legal_id_number_enc = a.contact_name_enc  # same row, another column
    with pytest.raises(DecryptionError):
        _ = a.legal_id_number
    assert a.contact_name == "张三"


def test_blind_index_equality(db, make_enterprise, make_plain_user):
    from app.orgs.models import Enterprise

    a = make_enterprise(contact_phone="13800138000")
    b = make_enterprise(contact_phone=" １３８００１３８０００ ")  # full-width, padded: NFKC
    c = make_enterprise(contact_phone="13900139000")
    assert a.contact_phone_bidx == b.contact_phone_bidx != c.contact_phone_bidx
    assert a.contact_phone_enc != b.contact_phone_enc  # ciphertexts stay randomised
    wanted = Enterprise.contact_phone.index_value(Enterprise, "13800138000")
    found = db.session.scalars(
        select(Enterprise).where(Enterprise.contact_phone_bidx == wanted)
    ).all()
    assert {e.id for e in found} == {a.id, b.id}
    # the same value under another table/field gets an unrelated index
    user = make_plain_user(phone="13800138000")
    assert user.phone_bidx and user.phone_bidx != a.contact_phone_bidx
    assert "13800138000" not in (a.contact_phone_bidx or "")
