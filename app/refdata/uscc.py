"""统一社会信用代码 (Unified Social Credit Code) validation per GB 32100-2015.

Why: every enterprise account is keyed by its USCC; a typo must be caught at entry
with a message the user understands, and demo data must carry codes that validate.

Layout (18 chars): 1 登记管理部门代码, 2 机构类别代码, 3-8 登记管理机关行政区划码 (GB/T 2260),
9-17 主体标识码 (组织机构代码, GB 11714), 18 校验码.
"""

from __future__ import annotations

import re
import unicodedata

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 组织机构代码 check digit weights


def _normalise(code: str) -> str:
    """Full-width to half-width (NFKC), trim, upper-case: what users paste from documents."""
    if not isinstance(code, str):
        raise ValueError("统一社会信用代码应为字符串")
    return unicodedata.normalize("NFKC", code).strip().upper()


def _check_body(body: str, length: int) -> None:
    if len(body) != length:
        what = "统一社会信用代码" if length == 18 else "统一社会信用代码前17位"
        raise ValueError(f"{what}长度应为{length}位（当前{len(body)}位）")
    bad = sorted({c for c in body if c not in _VALUE})
    if bad:
        raise ValueError(f"统一社会信用代码含有非法字符：{''.join(bad)}（不使用I、O、Z、S、V）")
    if not re.fullmatch(r"\d{6}", body[2:8]):
        raise ValueError("统一社会信用代码第3至8位应为登记管理机关行政区划码（6位数字）")


def check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (already normalised)."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    value = 31 - total % 31
    return CHARSET[0 if value == 31 else value]


def org_code_valid(org9: str) -> bool:
    """Whether characters 9-17 form a valid GB 11714 organisation code (its own check digit)."""
    if not re.fullmatch(r"[0-9A-Z]{8}[0-9X]", org9):
        return False
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in org9[:8]]
    remainder = 11 - sum(v * w for v, w in zip(values, _ORG_WEIGHTS, strict=True)) % 11
    expected = "X" if remainder == 10 else "0" if remainder == 11 else str(remainder)
    return org9[8] == expected


def validate_uscc(code: str, *, check_org_code: bool = False) -> str:
    """Return the normalised 18-character code, or raise ValueError with a Chinese message.

    ``check_org_code`` also verifies the embedded GB 11714 organisation code; it is off by
    default because not every issuing authority's body code is guaranteed to follow it.
    """
    normalised = _normalise(code)
    if not normalised:
        raise ValueError("统一社会信用代码不能为空")
    _check_body(normalised, 18)
    if check_character(normalised[:17]) != normalised[17]:
        raise ValueError("统一社会信用代码校验位错误")
    if check_org_code and not org_code_valid(normalised[8:17]):
        raise ValueError("统一社会信用代码中的组织机构代码校验位错误")
    return normalised


def is_valid_uscc(code: str) -> bool:
    """Convenience predicate around :func:`validate_uscc`."""
    try:
        validate_uscc(code)
    except ValueError:
        return False
    return True


def make_uscc(first17: str) -> str:
    """Append the check character to 17 characters (for demo data and tests)."""
    body = _normalise(first17)
    _check_body(body, 17)
    return body + check_character(body)
