"""What a user may see, as a value: regions (GB/T 2260 prefixes), enterprises, institutions
and verification bodies. No database here (`app.identity.grants` reads it for a user,
`app.identity.scope` turns it into query clauses)."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("region", "enterprise", "institution", "verification_body")


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
