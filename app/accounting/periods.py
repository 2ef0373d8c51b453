"""Reporting periods: month `2026-03`, quarter `2026Q1`, half-year `2026H1`, year `2026`."""

from __future__ import annotations

import re
from dataclasses import dataclass

TYPES = {"month": "月", "quarter": "季度", "half": "半年", "year": "年"}
_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{1,2})$"), "month"),
    (re.compile(r"^(\d{4})(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})Q([1-4])$", re.I), "quarter"),
    (re.compile(r"^(\d{4})H([12])$", re.I), "half"),
    (re.compile(r"^(\d{4})$"), "year"),
)


@dataclass(frozen=True)
class Period:
    type: str
    year: int
    index: int = 1   # month, quarter or half number; 1 for a year

    @property
    def key(self) -> str:
        return {"month": f"{self.year}-{self.index:02d}", "quarter": f"{self.year}Q{self.index}",
                "half": f"{self.year}H{self.index}", "year": f"{self.year}"}[self.type]

    @property
    def months(self) -> tuple[int, int]:
        """(first, last) month number inside the year."""
        if self.type == "month":
            return self.index, self.index
        if self.type == "quarter":
            return 3 * self.index - 2, 3 * self.index
        if self.type == "half":
            return 6 * self.index - 5, 6 * self.index
        return 1, 12

    @property
    def first(self) -> int:
        return self.year * 100 + self.months[0]

    @property
    def last(self) -> int:
        return self.year * 100 + self.months[1]

    @property
    def label(self) -> str:
        from app.i18n import Msg

        if self.type == "month":
            return Msg("%(year)s年%(month)s月", year=self.year, month=self.index)
        if self.type == "quarter":
            return Msg("%(year)s年第%(quarter)s季度", year=self.year, quarter=self.index)
        if self.type == "half":
            return (Msg("%(year)s年上半年", year=self.year) if self.index == 1
                    else Msg("%(year)s年下半年", year=self.year))
        return Msg("%(year)s年", year=self.year)

    def __str__(self) -> str:
        return self.key


def parse(text: str | int) -> Period:
    """Parse a period key; ValueError with a Chinese message when malformed."""
    s = str(text).strip()
    for pattern, kind in _PATTERNS:
        m = pattern.match(s)
        if m:
            year = int(m.group(1))
            index = int(m.group(2)) if kind != "year" else 1
            if kind == "month" and not 1 <= index <= 12:
                break
            return Period(kind, year, index)
    raise ValueError(f"无法识别的期间“{s}”：应为 2026-03、2026Q1、2026H1 或 2026")


def month(year: int, m: int) -> Period:
    return Period("month", year, m)


def containing(period_type: str, yyyymm: int) -> Period:
    """The period of `period_type` containing month yyyymm."""
    year, m = divmod(yyyymm, 100)
    if period_type == "month":
        return Period("month", year, m)
    if period_type == "quarter":
        return Period("quarter", year, (m - 1) // 3 + 1)
    if period_type == "half":
        return Period("half", year, 1 if m <= 6 else 2)
    return Period("year", year)
