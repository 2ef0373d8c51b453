"""Data-key rotation and the `cecp keys` commands."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from app.crypto import fields, signing, sm2
from app.crypto.cli import keys_cli
from app.crypto.keys import active_data_key
from app.crypto.models import DataKey, PlatformKey
from app.crypto.rotation import rotate_data_keys

DOC = b"report body"


def _all_tokens(db) -> list[str]:
    """Every ciphertext in the database, read with plain SQL (no ORM, no decryption)."""
    out = []
    seen = set()
    for model, field in fields.REGISTRY:
        table = getattr(model, "__tablename__", None)
        if table is None or (table, field.column) in seen:
            continue
        seen.add((table, field.column))
        out += db.session.execute(
            text(f'SELECT "{field.column}" FROM "{table}" WHERE "{field.column}" IS NOT NULL')
        ).scalars().all()
    out += db.session.execute(text("SELECT private_key_enc FROM platform_key")).scalars().all()
    return out


@pytest.fixture()
def populated(db, make_enterprise, make_plain_user):
    ents = [make_enterprise(contact_name=f"联系人{i}", contact_phone=f"1380013800{i}",
                            legal_id_number=f"33050019800101{i:04d}") for i in range(5)]
    ents.append(make_enterprise(contact_name="只有姓名"))
    users = [make_plain_user(phone="13900139000", id_number="330500199001010011"),
             make_plain_user()]
    signing.platform_keypair()
    db.session.commit()
    expected = {
        "ent": [(e.id, e.contact_name, e.contact_phone, e.legal_id_number,
                 e.contact_phone_bidx) for e in ents],
        "user": [(u.id, u.phone, u.id_number, u.phone_bidx) for u in users],
        "public": signing.platform_keypair()[1],
    }
    return expected


def _check_readable(db, expected):
    from app.identity.models import User
    from app.orgs.models import Enterprise

    db.session.expire_all()
    for eid, name, phone, legal, bidx in expected["ent"]:
        e = db.session.get(Enterprise, eid)
        assert (e.contact_name, e.contact_phone, e.legal_id_number) == (name, phone, legal)
        assert e.contact_phone_bidx == bidx  # blind indexes do not depend on data keys
    for uid, phone, id_number, bidx in expected["user"]:
        u = db.session.get(User, uid)
        assert (u.phone, u.id_number, u.phone_bidx) == (phone, id_number, bidx)
    assert signing.platform_keypair()[1] == expected["public"]


def test_rotation_reencrypts_everything(db, app, populated):
    from app.audit.models import AuditRecord
    from app.audit.service import verify_chain

    before = _all_tokens(db)
    assert before and all(t.startswith("sm4gcm:v1:") for t in before)

    counts = rotate_data_keys(batch_size=2)  # several batches per table
    db.session.commit()
    assert counts["Enterprise"] == 5 * 3 + 1
    assert counts["User"] == 2
    assert counts["PlatformKey"] == 1
    assert active_data_key()[0] == 2
    assert db.session.get(DataKey, 1) is not None  # the old key is kept

    after = _all_tokens(db)
    assert len(after) == len(before)
    assert all(t.startswith("sm4gcm:v2:") for t in after)
    assert not any("sm4gcm:v1:" in t for t in after)

    db.session.remove()
    app.extensions.pop("cecp_data_keys", None)  # unwrap v2 from the DB, not the cache
    _check_readable(db, populated)
    sig = signing.sign_document(DOC)
    assert sm2.verify(DOC, sig, populated["public"])

    rec = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "keys.rotate"))
    assert rec is not None and rec.object_id == "2"
    assert json.loads(rec.summary) == {**counts, "hmac_root": 2}  # root 1: blind indexes
    assert rec.key_version == 2  # the rotation's own record is the first under the new root
    assert verify_chain() is None

    counts2 = rotate_data_keys()
    db.session.commit()
    assert counts2 == counts
    assert all(t.startswith("sm4gcm:v3:") for t in _all_tokens(db))
    _check_readable(db, populated)


def test_rotation_keeps_callers_objects_usable(db, populated):
    from app.orgs.models import Enterprise

    held = db.session.get(Enterprise, populated["ent"][0][0])
    rotate_data_keys(batch_size=1)
    assert held in db.session
    assert held.contact_phone_enc.startswith("sm4gcm:v2:")
    assert held.contact_phone == populated["ent"][0][2]


def test_corrupt_ciphertext_aborts_rotation(db, populated):
    from app.orgs.models import Enterprise

    victim = db.session.get(Enterprise, populated["ent"][1][0])
    victim.contact_name_enc = db.session.get(Enterprise, populated["ent"][2][0]).contact_name_enc
    db.session.commit()
    with pytest.raises(RuntimeError, match="解密失败"):
        rotate_data_keys()
    db.session.rollback()
    assert active_data_key()[0] == 1
    assert all(t.startswith("sm4gcm:v1:") for t in _all_tokens(db))


def test_cli_export_public_parses_in_openssl(db, app, openssl):
    result = app.test_cli_runner().invoke(keys_cli, ["export-public"])
    assert result.exit_code == 0, result.output
    pem = result.output
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    # `openssl pkey -pubin -text` reading stdin (OpenSSL 3.0 takes "-in -" as a file name)
    parsed = openssl("pkey", "-pubin", "-text", "-noout", input=pem.encode())
    out = parsed.stdout.decode()
    assert "ASN1 OID: SM2" in out
    pub_bytes = "".join(
        line.strip() for line in out.split("pub:")[1].split("ASN1 OID")[0].splitlines()
    ).replace(":", "")
    db.session.remove()  # the command committed: a new session sees the same key
    row = db.session.scalar(select(PlatformKey))
    assert pub_bytes == "04" + row.public_key_hex
    assert sm2.load_public_pem(pem) == row.public_key_hex
    again = app.test_cli_runner().invoke(keys_cli, ["export-public"])
    assert again.output == pem


def test_cli_rotate(db, app, populated):
    result = app.test_cli_runner().invoke(keys_cli, ["rotate"])
    assert result.exit_code == 0, result.output
    assert "已生成新数据密钥 v2" in result.output
    assert "Enterprise: 16 项" in result.output
    assert "PlatformKey: 1 项" in result.output
    db.session.remove()
    assert all(t.startswith("sm4gcm:v2:") for t in _all_tokens(db))
    _check_readable(db, populated)
