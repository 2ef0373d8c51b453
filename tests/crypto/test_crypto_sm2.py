"""SM2 signatures and SubjectPublicKeyInfo without the database (app.crypto.sm2)."""

from __future__ import annotations

import base64

import gmssl.func
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from gmssl.sm2 import CryptSM2

from app.crypto import sm2

DOC = "碳效码证书 No. 330500-2026-0001\n".encode() * 10

#: d = 11 gives a public key whose x starts with "04": gmssl's CryptSM2.__init__
#: lstrip("04")s it and then computes Z over a truncated key.
D_04 = f"{11:064x}"


@pytest.fixture(scope="module")
def keypair():
    return sm2.generate_keypair()


def test_keypair_shape(keypair):
    private_hex, public_hex = keypair
    assert len(private_hex) == 64 and 1 <= int(private_hex, 16) <= sm2.N - 2
    assert len(public_hex) == 128
    assert sm2.normalise_public(public_hex) == public_hex  # on the curve
    assert sm2.public_from_private(private_hex) == public_hex
    assert sm2.normalise_public("04" + public_hex.upper()) == public_hex
    assert sm2.generate_keypair()[0] != private_hex


def test_sign_verify_roundtrip(keypair):
    private_hex, public_hex = keypair
    sig = sm2.sign(DOC, private_hex, public_hex)
    r, s = decode_dss_signature(sig)  # strict DER SEQUENCE { r, s }
    assert 1 <= r < sm2.N and 1 <= s < sm2.N
    assert sm2.verify(DOC, sig, public_hex)
    assert sm2.verify(b"", sm2.sign(b"", private_hex, public_hex), public_hex)


def test_tampering_fails(keypair):
    private_hex, public_hex = keypair
    sig = sm2.sign(DOC, private_hex, public_hex)
    for i in (0, len(DOC) // 2, len(DOC) - 1):
        changed = bytearray(DOC)
        changed[i] ^= 0x01
        assert not sm2.verify(bytes(changed), sig, public_hex)
    for i in range(len(sig)):  # every single-byte change of the signature
        bad = bytearray(sig)
        bad[i] ^= 0x01
        assert not sm2.verify(DOC, bytes(bad), public_hex)
    other_public = sm2.generate_keypair()[1]
    assert not sm2.verify(DOC, sig, other_public)
    # a different signer id gives a different Z, so a different digest
    assert not sm2.verify(DOC, sig, public_hex, user_id=b"ALICE123@YAHOO.COM")


def test_nonces_are_fresh(keypair):
    private_hex, public_hex = keypair
    sigs = {sm2.sign(DOC, private_hex, public_hex) for _ in range(5)}
    assert len(sigs) == 5
    assert len({decode_dss_signature(s)[0] for s in sigs}) == 5  # r = e + x(kG): k differs
    assert all(sm2.verify(DOC, s, public_hex) for s in sigs)


def test_never_uses_gmssl_random(monkeypatch, keypair):
    """gmssl's default nonce is func.random_hex (random.choice, Mersenne Twister)."""

    def boom(*args, **kwargs):
        raise AssertionError("gmssl's predictable random_hex was called")

    monkeypatch.setattr(gmssl.func, "random_hex", boom)
    monkeypatch.setattr(gmssl.func, "choice", boom)
    private_hex, public_hex = keypair
    for _ in range(3):
        assert sm2.verify(DOC, sm2.sign(DOC, private_hex, public_hex), public_hex)
    # the guard is real: gmssl's own default path trips it
    with pytest.raises(AssertionError):
        CryptSM2(private_key=private_hex, public_key=public_hex, asn1=True).sign_with_sm3(DOC)


def test_nonce_comes_from_secrets(monkeypatch, keypair):
    """Pinning secrets.token_hex pins the signature: that is where k comes from."""
    private_hex, public_hex = keypair
    monkeypatch.setattr(sm2.secrets, "token_hex", lambda n=32: "7" * (2 * n))
    assert sm2.sign(DOC, private_hex, public_hex) == sm2.sign(DOC, private_hex, public_hex)


def test_matches_gmssl_sign_with_sm3_both_ways(keypair):
    """Our OpenSSL-SM3 Z/e is byte-for-byte gmssl's _sm3_z, and signatures cross-verify."""
    private_hex, public_hex = keypair
    g = CryptSM2(private_key=private_hex, public_key=public_hex, asn1=True)
    assert sm2.message_digest(DOC, public_hex).hex() == g._sm3_z(DOC)
    ours = sm2.sign(DOC, private_hex, public_hex)
    assert g.verify_with_sm3(ours.hex(), DOC)
    theirs = bytes.fromhex(g.sign_with_sm3(DOC, random_hex_str=sm2._nonce()))
    assert sm2.verify(DOC, theirs, public_hex)


def test_public_key_starting_with_04_survives_gmssl_lstrip():
    public_hex = sm2.public_from_private(D_04)
    assert public_hex.startswith("04")
    raw = CryptSM2(private_key=D_04, public_key=public_hex, asn1=True)
    assert raw.public_key != public_hex  # the gmssl bug this module works around
    sig = sm2.sign(DOC, D_04, public_hex)
    assert sm2.verify(DOC, sig, public_hex)
    assert sm2.load_public_pem(sm2.public_key_pem(public_hex)) == public_hex


def test_sign_rejects_bad_keys(keypair):
    private_hex, public_hex = keypair
    other_private = sm2.generate_keypair()[0]
    with pytest.raises(ValueError):
        sm2.sign(DOC, other_private, public_hex)  # mismatched pair
    with pytest.raises(ValueError):
        sm2.sign(DOC, "00" * 32, public_hex)
    with pytest.raises(ValueError):
        sm2.sign(DOC, f"{sm2.N - 1:064x}", public_hex)  # d = n-1: 1+d not invertible
    with pytest.raises(ValueError):
        sm2.sign(DOC, private_hex, "ab" * 64)  # not on the curve


def test_verify_never_raises(keypair):
    private_hex, public_hex = keypair
    good = sm2.sign(DOC, private_hex, public_hex)
    r, s = decode_dss_signature(good)
    d = int(private_hex, 16)
    # s·G + (r+s)·P = O: gmssl's verify crashes on the point at infinity
    s_inf = (-d * pow(1 + d, -1, sm2.N)) % sm2.N
    g = CryptSM2(private_key="", public_key=public_hex, asn1=True)
    with pytest.raises(TypeError):
        g.verify(encode_dss_signature(1, s_inf).hex(), sm2.message_digest(DOC, public_hex))
    bad_sigs = [
        b"",
        b"\x30",
        b"garbage",
        good + b"\x00",  # trailing data
        good[:-1],
        encode_dss_signature(0, s),
        encode_dss_signature(r, 0),
        encode_dss_signature(r + sm2.N, s),
        encode_dss_signature(r, s + sm2.N),
        encode_dss_signature(sm2.N, s),
        encode_dss_signature(1, s_inf),
        # BER long-form length: same r, s, not DER
        b"\x30\x81" + good[1:2] + good[2:],
        bytes.fromhex("3006020101020101"),
    ]
    for sig in bad_sigs:
        assert sm2.verify(DOC, sig, public_hex) is False, sig.hex()
    for sig in (None, "not bytes", 42):
        assert sm2.verify(DOC, sig, public_hex) is False  # type: ignore[arg-type]
    for pub in ("", "zz" * 64, "ab" * 64, public_hex[:-2], None):
        assert sm2.verify(DOC, good, pub) is False  # type: ignore[arg-type]


def test_public_key_pem_roundtrip(keypair):
    public_hex = keypair[1]
    pem = sm2.public_key_pem(public_hex)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert pem.endswith("-----END PUBLIC KEY-----\n")
    der = sm2.public_key_der(public_hex)
    assert der.hex().startswith(
        "3059"  # SEQUENCE
        "3013" "06072a8648ce3d0201"  # id-ecPublicKey 1.2.840.10045.2.1
        "06082a811ccf5501822d"  # SM2 curve 1.2.156.10197.1.301
        "034200" "04"  # BIT STRING (0 unused bits), uncompressed point
    )
    assert sm2.load_public_pem(pem) == public_hex
    assert sm2.load_public_pem(pem.encode()) == public_hex
    assert sm2.load_public_pem("junk before\n" + pem.replace("\n", "\r\n")) == public_hex


def test_load_public_pem_compressed_point(keypair):
    public_hex = keypair[1]
    x, y = int(public_hex[:64], 16), int(public_hex[64:], 16)
    prefix = bytes.fromhex("3039301306072a8648ce3d020106082a811ccf5501822d032200")
    der = prefix + bytes([2 + (y & 1)]) + x.to_bytes(32, "big")
    assert sm2.load_public_der(der) == public_hex


def _pem(der: bytes) -> str:
    return "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + \
        "\n-----END PUBLIC KEY-----\n"


#: `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 | openssl pkey -pubout`
P256_PEM = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEv/e6QY9WJIp0elhIi+Bb7wAtcFef
NIdE29Ausp7g/aRPjwMuuXW2FV41Ay8L+M/h7BO7r3Q09piM7tN+eWRTtA==
-----END PUBLIC KEY-----
"""


def test_load_public_pem_rejects(keypair):
    der = sm2.public_key_der(keypair[1])
    not_on_curve = der[:-1] + bytes([der[-1] ^ 1])
    cases = {
        "no pem": "hello",
        "private key label": sm2.public_key_pem(keypair[1]).replace("PUBLIC", "PRIVATE"),
        "bad base64": "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
        "trailing data": _pem(der + b"\x00"),
        "truncated": _pem(der[:-1]),
        "not on curve": _pem(not_on_curve),
        "P-256 key": P256_PEM,
        "long-form length": _pem(b"\x30\x81\x59" + der[2:]),
    }
    for name, pem in cases.items():
        with pytest.raises(ValueError):
            sm2.load_public_pem(pem)
            pytest.fail(name)
    with pytest.raises(ValueError, match="1.2.840.10045.3.1.7"):
        sm2.load_public_pem(P256_PEM)  # parsed fine, refused for its curve (prime256v1)
