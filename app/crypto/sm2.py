"""SM2 signatures (GM/T 0003.2) with gmssl's curve arithmetic, made safe to use.

gmssl 3.2.2 is used only for the elliptic-curve maths (`CryptSM2._kg`, `sign`, `verify`).
Around it, this module:

* draws every nonce k from `secrets` (gmssl's default `func.random_hex` uses `random`,
  a Mersenne Twister: predictable nonces leak the private key);
* computes Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) and e = SM3(Z || M) with
  OpenSSL's SM3 (`app.crypto.hashing`), exactly what gmssl's `sign_with_sm3` computes but
  ~1000x faster on large documents;
* sets the public key on the gmssl object itself, because `CryptSM2.__init__` does
  `public_key.lstrip("04")`, which corrupts every key whose x coordinate starts with "04";
* checks keys are on the curve, r and s are in [1, n-1] and signatures are strict DER
  (gmssl checks none of these), and turns every failure into `False`.

Signatures are DER `SEQUENCE { r INTEGER, s INTEGER }` with the GM/T default user id
1234567812345678; OpenSSL 3 verifies them with `-pkeyopt distid:1234567812345678`.
Keys are hex: private d as 64 hex digits, public key as 128 hex digits x || y (a leading
"04" uncompressed-point marker is accepted on input).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from gmssl.sm2 import CryptSM2, default_ecc_table

from app.crypto.hashing import sm3

_T = default_ecc_table
P = int(_T["p"], 16)
A = int(_T["a"], 16)
B = int(_T["b"], 16)
N = int(_T["n"], 16)
G_HEX = _T["g"].lower()
GX, GY = int(G_HEX[:64], 16), int(G_HEX[64:], 16)

#: GM/T 0009 default signer id (gmssl hard-codes it; OpenSSL needs distid:...)
DEFAULT_USER_ID = b"1234567812345678"

OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_SM2_CURVE = "1.2.156.10197.1.301"
_OID_EC_PUBLIC_KEY_DER = bytes.fromhex("2a8648ce3d0201")
_OID_SM2_CURVE_DER = bytes.fromhex("2a811ccf5501822d")
#: DER of SubjectPublicKeyInfo{ {id-ecPublicKey, sm2}, BIT STRING 00 } before 04 || x || y
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")

_HEX = re.compile(r"\A[0-9a-fA-F]+\Z")


# --- keys -------------------------------------------------------------------------------


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def normalise_public(public_hex: str) -> str:
    """128 lower-case hex digits x || y of a point on the SM2 curve, or ValueError."""
    if not isinstance(public_hex, str):
        raise ValueError("SM2 公钥必须是十六进制字符串")
    h = public_hex.strip()
    if len(h) == 130 and h.startswith("04"):
        h = h[2:]
    if len(h) != 128 or not _HEX.match(h):
        raise ValueError("SM2 公钥必须是 128 位十六进制 (x || y)")
    if not _on_curve(int(h[:64], 16), int(h[64:], 16)):
        raise ValueError("SM2 公钥不在曲线上")
    return h.lower()


def _private_int(private_hex: str) -> int:
    if not isinstance(private_hex, str) or not _HEX.match(private_hex.strip()):
        raise ValueError("SM2 私钥必须是十六进制字符串")
    d = int(private_hex, 16)
    if not 1 <= d <= N - 2:
        raise ValueError("SM2 私钥超出范围 [1, n-2]")
    return d


def _engine(public_hex: str, private_hex: str = "") -> CryptSM2:
    eng = CryptSM2(private_key=private_hex, public_key=public_hex, asn1=True)
    # CryptSM2.__init__ lstrip("04")s the key: undo that for x coordinates starting "04".
    eng.public_key = public_hex
    return eng


def _multiply_g(d: int) -> str:
    point = _engine("")._kg(d, G_HEX)
    if point is None:  # pragma: no cover - only for d = 0 mod n, excluded by callers
        raise ValueError("无效的标量")
    return point.lower()


def public_from_private(private_hex: str) -> str:
    """The public key d·G as 128 hex digits x || y."""
    return _multiply_g(_private_int(private_hex))


def generate_keypair() -> tuple[str, str]:
    """(private_hex, public_hex): d uniform in [1, n-2] from `secrets`, public key d·G."""
    d = secrets.randbelow(N - 2) + 1
    return f"{d:064x}", _multiply_g(d)


# --- hashing (GM/T 0003.2 section 5.5) ---------------------------------------------------


def z_value(public_hex: str, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)."""
    pub = normalise_public(public_hex)
    bits = len(user_id) * 8
    if bits > 0xFFFF:
        raise ValueError("用户标识过长")
    return sm3(
        bits.to_bytes(2, "big")
        + user_id
        + A.to_bytes(32, "big")
        + B.to_bytes(32, "big")
        + GX.to_bytes(32, "big")
        + GY.to_bytes(32, "big")
        + bytes.fromhex(pub)
    )


def message_digest(data: bytes, public_hex: str, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """e = SM3(Z_A || M), the value that is actually signed."""
    return sm3(z_value(public_hex, user_id) + bytes(data))


# --- signatures -------------------------------------------------------------------------


def _nonce() -> str:
    """A secret k in [1, n-1] from the OS CSPRNG (never gmssl's `random`-based one)."""
    while True:
        k = secrets.token_hex(32)
        if 0 < int(k, 16) < N:
            return k


def sign(
    data: bytes, private_hex: str, public_hex: str, user_id: bytes = DEFAULT_USER_ID
) -> bytes:
    """DER-encoded SM2 signature of `data` (SM3 with Z, as OpenSSL `-digest sm3`)."""
    pub = normalise_public(public_hex)
    d = _private_int(private_hex)
    if _multiply_g(d) != pub:
        raise ValueError("SM2 公钥与私钥不匹配")
    e = message_digest(data, pub, user_id)
    eng = _engine(pub, f"{d:064x}")
    while True:
        der_hex = eng.sign(e, _nonce())  # None when r = 0, r + k = n or s = 0: retry
        if der_hex:
            return bytes.fromhex(der_hex)


def verify(
    data: bytes, der_sig: bytes, public_hex: str, user_id: bytes = DEFAULT_USER_ID
) -> bool:
    """True only for a valid strict-DER signature; False (never an exception) otherwise."""
    try:
        pub = normalise_public(public_hex)
        sig = bytes(der_sig)
        r, s = decode_dss_signature(sig)
        if not (1 <= r < N and 1 <= s < N) or encode_dss_signature(r, s) != sig:
            return False
        e = message_digest(bytes(data), pub, user_id)
        return bool(_engine(pub).verify(sig.hex(), e))
    except Exception:  # malformed input, or gmssl tripping over the point at infinity
        return False


# --- SubjectPublicKeyInfo ---------------------------------------------------------------


def public_key_der(public_hex: str) -> bytes:
    return _SPKI_PREFIX + b"\x04" + bytes.fromhex(normalise_public(public_hex))


def public_key_pem(public_hex: str) -> str:
    """PEM SubjectPublicKeyInfo (id-ecPublicKey, curve 1.2.156.10197.1.301), as OpenSSL."""
    b64 = base64.b64encode(public_key_der(public_hex)).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def _tlv(buf: bytes, pos: int) -> tuple[int, bytes, int]:
    """One strict-DER tag-length-value at `pos`: (tag, value, next position)."""
    if pos + 2 > len(buf):
        raise ValueError("DER 数据被截断")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 2 or pos + n > len(buf):
            raise ValueError("DER 长度编码无效")
        length = int.from_bytes(buf[pos : pos + n], "big")
        if length < 0x80 or (n == 2 and length < 0x100):
            raise ValueError("DER 长度编码不是最短形式")
        pos += n
    if pos + length > len(buf):
        raise ValueError("DER 数据被截断")
    return tag, buf[pos : pos + length], pos + length


def _oid(value: bytes) -> str:
    """Dotted form of an OID, for error messages (matching compares the DER bytes)."""
    if not value or value[-1] & 0x80:
        return "?"
    arcs, acc = [], 0
    for byte in value:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(acc)
            acc = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def _decompress(prefix: int, x: int) -> int:
    if x >= P:
        raise ValueError("SM2 公钥不在曲线上")
    rhs = (x * x * x + A * x + B) % P
    y = pow(rhs, (P + 1) // 4, P)  # p = 3 (mod 4)
    if y * y % P != rhs:
        raise ValueError("SM2 公钥不在曲线上")
    if y & 1 != prefix & 1:
        y = P - y
    return y


def load_public_der(der: bytes) -> str:
    """Parse a DER SubjectPublicKeyInfo holding an SM2 key; returns 128 hex x || y."""
    tag, spki, end = _tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("不是 SubjectPublicKeyInfo 结构")
    tag, alg, pos = _tlv(spki, 0)
    tag2, bits, end = _tlv(spki, pos)
    if tag != 0x30 or tag2 != 0x03 or end != len(spki):
        raise ValueError("不是 SubjectPublicKeyInfo 结构")
    tag, alg_oid, pos = _tlv(alg, 0)
    tag2, curve_oid, end = _tlv(alg, pos)
    if tag != 0x06 or tag2 != 0x06 or end != len(alg):
        raise ValueError("公钥算法标识无效 (需要命名曲线参数)")
    if alg_oid != _OID_EC_PUBLIC_KEY_DER:
        raise ValueError(f"不是椭圆曲线公钥 (算法 {_oid(alg_oid)})")
    if curve_oid != _OID_SM2_CURVE_DER:
        raise ValueError(f"不是 SM2 曲线 (曲线 {_oid(curve_oid)})")
    if not bits or bits[0] != 0:
        raise ValueError("公钥位串无效")
    point = bits[1:]
    if len(point) == 65 and point[0] == 4:
        return normalise_public(point[1:].hex())
    if len(point) == 33 and point[0] in (2, 3):
        x = int.from_bytes(point[1:], "big")
        return normalise_public(f"{x:064x}{_decompress(point[0], x):064x}")
    raise ValueError("公钥点编码无效")


def load_public_pem(pem: str | bytes) -> str:
    """Parse a PEM `PUBLIC KEY` (as `openssl pkey -pubout`); returns 128 hex x || y."""
    text = pem.decode("ascii") if isinstance(pem, bytes) else pem
    m = re.search(
        r"-----BEGIN PUBLIC KEY-----\s*(.*?)\s*-----END PUBLIC KEY-----", text, re.S
    )
    if not m:
        raise ValueError("不是 PEM 格式的公钥 (BEGIN PUBLIC KEY)")
    try:
        der = base64.b64decode("".join(m.group(1).split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("PEM 公钥的 Base64 编码无效") from exc
    return load_public_der(der)
