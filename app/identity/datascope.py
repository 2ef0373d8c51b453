"""What a user may see, as a value: regions (GB/T 2260 prefixes), enterprises, institutions
and verification bodies. No database here (`app.identity.grants` reads it for a user,
`app.identity.scope` turns it into query clauses)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.refdata.regions import validate_region_code
from app.refdata.uscc import validate_uscc

KINDS = ("region", "enterprise", "institution", "verification_body")
KIND_LABELS = {"region": "地区", "enterprise": "企业", "institution": "机构",
               "verification_body": "核查机构"}
_ORG_CODE = re.compile(r"[0-9A-Z][0-9A-Z-]{0,39}")


def check_entry(kind: str, code: str) -> str:
    """A scope entry as it may be granted, normalised; ValueError (Chinese) otherwise.

    Why: a region entry becomes a LIKE prefix and the others IN lists, so an entry must be
    exactly one division or one organisation. A region is a GB/T 2260 code of the national
    list (no '%', no bare prefix such as '33'), an enterprise a USCC whose GB 32100 check
    character is right, an institution or verification body a code of letters, digits and
    hyphens."""
    if kind not in KINDS:
        raise ValueError(f"未知数据范围类型「{kind}」（可选：{'、'.join(KINDS)}）")
    if not isinstance(code, str):
        raise ValueError("代码应为字符串")
    if kind == "region":
        return validate_region_code(code)
    if kind == "enterprise":
        return validate_uscc(code)
    code = code.strip().upper()
    if not _ORG_CODE.fullmatch(code):
        raise ValueError(f"「{code}」不是有效的{KIND_LABELS[kind]}代码："
                         "只能包含字母、数字和连字符，不接受通配符")
    return code


def region_prefix(code: str) -> str:
    """GB/T 2260: a province (330000) covers 33xxxx, a city (330500) covers 3305xx."""
    code = code.strip()
    if len(code) == 6 and code.isdigit():
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def region_covers(scope_code: str, region_code: str | None) -> bool:
    return bool(region_code) and region_code.startswith(region_prefix(scope_code))


@dataclass(frozen=True)
class DataScope:
    all: bool = False
    region: tuple[str, ...] = ()
    enterprise: tuple[str, ...] = ()
    institution: tuple[str, ...] = ()
    verification_body: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.all or self.region or self.enterprise or self.institution
                    or self.verification_body)

    def covers_region(self, code: str | None) -> bool:
        return self.all or any(region_covers(r, code) for r in self.region)


PUBLIC = DataScope()
