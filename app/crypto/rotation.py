"""Key rotation: a new SM4 data key with every ciphertext re-encrypted under it, and a new
HMAC root that the audit chain moves to (records name their key version, so the records
before the rotation still verify under theirs). Blind indexes keep their stable root and
are recomputed from the plaintext (a database from before HMAC roots gets them right).

Old `DataKey` rows are kept (a ciphertext written by a transaction that committed during
the rotation still names the old version and stays readable; rotate again to move it).
Only flushes: the caller commits, so the new key, the re-encrypted rows and the audit
record commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from app.crypto import fields
from app.crypto.keys import create_data_key, create_hmac_root
from app.crypto.models import PlatformKey
from app.extensions import db

BATCH_SIZE = 500


def _registered_models() -> dict[type, list[fields.EncryptedField]]:
    """Mapped root classes -> their encrypted fields, from `fields.REGISTRY`.

    A field declared on an unmapped mixin applies to every mapped class using it.
    """
    out: dict[type, list[fields.EncryptedField]] = {}
    mappers = [m for m in db.Model.registry.mappers if m.inherits is None]
    for owner, field in fields.REGISTRY:
        if getattr(owner, "__mapper__", None) is not None:
            targets = [owner.__mapper__.base_mapper.class_]
        else:
            targets = [m.class_ for m in mappers if issubclass(m.class_, owner)]
        for cls in targets:
            known = out.setdefault(cls, [])
            if all(f.column != field.column for f in known):
                known.append(field)
    return out


def _batches(model: type, size: int) -> Iterator[list[Any]]:
    """Rows in primary-key order, `size` at a time (keyset pagination)."""
    pk = sa_inspect(model).primary_key
    if len(pk) != 1:  # pragma: no cover - every encrypted table has a single-column key
        raise RuntimeError(f"{model.__name__}: 轮换只支持单列主键")
    col = pk[0]
    last = None
    while True:
        stmt = select(model).order_by(col).limit(size)
        if last is not None:
            stmt = stmt.where(col > last)
        rows = db.session.scalars(stmt).all()
        if not rows:
            return
        yield rows
        last = sa_inspect(rows[-1]).identity[0]


def _reencrypt(token: str, aad: str, version: int, where: str) -> str | None:
    """The token under the active key, or None when it already uses `version`."""
    if fields.token_version(token) == version:
        return None
    try:
        plain = fields.decrypt_text(token, aad)
    except Exception as exc:
        raise RuntimeError(f"{where} 解密失败，轮换中止: {exc}") from exc
    return fields.encrypt_text(plain, aad)


def _rotate_model(
    model: type, encrypted: list[fields.EncryptedField], version: int, batch_size: int
) -> int:
    count = 0
    session = db.session
    for rows in _batches(model, batch_size):
        preexisting = set(session.identity_map.keys())
        loaded = []
        for row in rows:
            if sa_inspect(row).identity_key not in preexisting:
                loaded.append(row)
            for field in encrypted:
                token = getattr(row, field.column)
                if token is None:
                    continue
                aad = field.aad(row)  # table.column.uid, as the descriptor binds it
                new = _reencrypt(token, aad, version, f"{model.__name__} {aad}")
                if new is not None:
                    setattr(row, field.column, new)  # the column: blind index unchanged
                    count += 1
                if field.index:
                    _reindex(row, field, new or token, aad)
        session.flush()
        for row in loaded:  # keep memory flat on big tables; leave the caller's objects
            session.expunge(row)
    return count


def _reindex(row: Any, field: fields.EncryptedField, token: str, aad: str) -> None:
    index = field.index_value(type(row), fields.decrypt_text(token, aad))
    if getattr(row, field.index) != index:
        setattr(row, field.index, index)


def _rotate_platform_keys(version: int) -> int:
    from app.crypto.signing import private_key_aad

    count = 0
    for row in db.session.scalars(select(PlatformKey).order_by(PlatformKey.id)).all():
        new = _reencrypt(row.private_key_enc, private_key_aad(row.name), version,
                         f"PlatformKey {row.name}")
        if new is not None:
            row.private_key_enc = new
            count += 1
    db.session.flush()
    return count


def rotate_data_keys(batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Create data key v(n+1), re-encrypt every registered field and the platform private
    key under it; create HMAC root v(m+1) and move the audit chain to it (from this
    transaction's own record on); audit, flush. Returns {model class name: ciphertexts
    re-encrypted}."""
    from app.audit.service import record, use_key_version

    version = create_data_key()
    counts: dict[str, int] = {}
    for model, encrypted in _registered_models().items():
        counts[model.__name__] = _rotate_model(model, encrypted, version, batch_size)
    counts[PlatformKey.__name__] = _rotate_platform_keys(version)
    root = create_hmac_root()
    use_key_version(root)
    record("keys.rotate", object_type="data_key", object_id=version,
           summary={**counts, "hmac_root": root})
    return counts
