"""What a carbon efficiency code carries outside the platform: a signed token (SM2, the
platform's key) naming the code, its check, and the QR image of the verification address."""

from __future__ import annotations

import io

import qrcode

from app.accounting.models import CarbonCode
from app.crypto.signing import make_token, read_token
from app.extensions import db


def token_for(code: CarbonCode) -> str:
    return make_token({"c": code.id, "e": code.enterprise.uscc, "p": code.period_key,
                       "s": code.scheme_id, "g": code.grade,
                       "k": None if code.k_value is None else str(code.k_value)})


def verify_token(token: str) -> tuple[dict, CarbonCode | None]:
    """The signed payload and the code record it names; ValueError('签名无效') if forged."""
    payload = read_token(token)
    code = db.session.get(CarbonCode, payload.get("c"))
    if code is not None and code.enterprise.uscc != payload.get("e"):
        code = None
    return payload, code


def qr_png(url: str) -> bytes:
    img = qrcode.make(url, box_size=6, border=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
