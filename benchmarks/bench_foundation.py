"""Foundation: SM4-GCM (OpenSSL) vs gmssl SM4, audit chain appends (one writer and eight
concurrent ones), argon2 verify."""

from __future__ import annotations

import os
import time

from benchmarks import pgdb


def _rate(fn, seconds: float = 1.0) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def _sm4() -> list[dict]:
    from gmssl.sm4 import SM4_DECRYPT, SM4_ENCRYPT, CryptSM4

    from app.crypto.sm4 import sm4_gcm_decrypt, sm4_gcm_encrypt

    key, field, aad = os.urandom(16), os.urandom(64), b"enterprise.contact_phone_enc.x"
    ours = _rate(lambda: sm4_gcm_decrypt(key, sm4_gcm_encrypt(key, field, aad), aad))
    enc, dec, iv = CryptSM4(), CryptSM4(), os.urandom(16)
    enc.set_key(key, SM4_ENCRYPT)
    dec.set_key(key, SM4_DECRYPT)
    theirs = _rate(lambda: dec.crypt_cbc(iv, enc.crypt_cbc(iv, field)))
    return [{"measure": "SM4-GCM encrypt+decrypt 64 B (cryptography/OpenSSL)", "value": ours,
             "unit": "ops/s", "baseline": "gmssl SM4-CBC encrypt+decrypt 64 B",
             "baseline_value": theirs, "note": "GCM also authenticates"}]


def _audit_and_argon2() -> list[dict]:
    from flask_security import hash_password, verify_password
    from sqlalchemy import insert

    from app import create_app
    from app.audit import service as audit
    from app.audit.models import AuditRecord
    from app.db import utcnow
    from app.extensions import db

    url = pgdb.url_for("cecp_bench_foundation")
    pgdb.recreate(url)
    os.environ.setdefault("CECP_INSTANCE_PATH", "/tmp/cecp-bench")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    rows: list[dict] = []
    try:
        with app.app_context():
            db.create_all()
            concurrent = _concurrent_writes(app)  # first: the plain rows below break the chain
            n = 2000
            t0 = time.perf_counter()
            for i in range(n):
                audit.record("bench.event", object_type="thing", object_id=i,
                             summary={"i": i}, email="bench@t.cecp")
                if i % 100 == 99:
                    db.session.commit()
            db.session.commit()
            chained = n / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            for i in range(n):
                db.session.execute(insert(AuditRecord).values(
                    seq=10_000_000 + i, ts=utcnow(), action="bench.plain", object_type="thing",
                    object_id=str(i), summary='{"i": 0}', prev_hash="0" * 64, hash="0" * 64))
                if i % 100 == 99:
                    db.session.commit()
            db.session.commit()
            plain = n / (time.perf_counter() - t0)
            rows.append({"measure": "audit records appended (HMAC-SM3 chain, PostgreSQL)",
                         "value": chained, "unit": "records/s",
                         "baseline": "plain INSERT of the same rows, no chain",
                         "baseline_value": plain, "note": "commit every 100"})
            rows.append(concurrent)
            hashed = hash_password("Qv82-lkd9#Tmw!")
            k = 10
            t0 = time.perf_counter()
            for _ in range(k):
                verify_password("Qv82-lkd9#Tmw!", hashed)
            argon = (time.perf_counter() - t0) / k * 1000
            from app.crypto.hashing import hmac_sm3

            t0 = time.perf_counter()
            for _ in range(1000):
                hmac_sm3(b"k" * 32, b"Qv82-lkd9#Tmw!")
            sm3 = (time.perf_counter() - t0)
            rows.append({"measure": "argon2 password verify", "value": argon, "unit": "ms",
                         "baseline": "HMAC-SM3 of the same password (not a password hash)",
                         "baseline_value": sm3, "note": "slow on purpose: resists guessing"})
            db.session.remove()
            db.engine.dispose()
    finally:
        pgdb.recreate(url, drop_only=True)
    return rows


def _writes_per_second(app, *, audited: bool, writers: int, seconds: float) -> float:
    """`writers` threads, each with its own session, committing one INSERT per transaction
    (with one audit record when `audited`) for `seconds`."""
    import threading

    from sqlalchemy import text

    from app.audit import service as audit
    from app.extensions import db

    barrier = threading.Barrier(writers + 1)
    done: list[int] = []
    insert = text("INSERT INTO bench_write (writer, note) VALUES (:w, :n)")

    def work(w: int) -> None:
        with app.app_context():
            db.session.connection()
            barrier.wait()
            n, end = 0, time.perf_counter() + seconds
            while time.perf_counter() < end:
                db.session.execute(insert, {"w": w, "n": f"write {n}"})
                if audited:
                    audit.record("bench.write", object_type="bench_write", object_id=n,
                                 summary={"writer": w})
                db.session.commit()
                n += 1
            done.append(n)
            db.session.remove()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def _concurrent_writes(app, writers: int = 8, seconds: float = 3.0) -> dict:
    from sqlalchemy import text

    from app.audit.service import verify_chain
    from app.extensions import db

    db.session.execute(text("CREATE TABLE bench_write (id bigserial PRIMARY KEY, "
                            "writer integer NOT NULL, note text)"))
    db.session.commit()
    plain = _writes_per_second(app, audited=False, writers=writers, seconds=seconds)
    audited = _writes_per_second(app, audited=True, writers=writers, seconds=seconds)
    if verify_chain() is not None:
        raise RuntimeError("audit chain broken by concurrent writers")
    return {"measure": f"audited writes, {writers} concurrent writers (INSERT + audit "
                       "record, one transaction each)", "value": audited,
            "unit": "writes/s", "baseline": f"plain INSERTs, {writers} concurrent writers",
            "baseline_value": plain, "note": "chain appended at commit; chain verified after"}


def run() -> list[dict]:
    return _sm4() + _audit_and_argon2()
