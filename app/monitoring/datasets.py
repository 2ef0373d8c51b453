"""One shape for every chart: the page draws it, the table shows it, the API returns it and
the CSV / Excel export writes it, so all four always carry exactly the same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.i18n import Msg


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str | None = None
    kind: str = "number"  # number | text | link

    @property
    def heading(self) -> str:
        return Msg("%(label)s（%(unit)s）", label=self.label, unit=self.unit) if self.unit \
            else self.label

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "unit": self.unit, "kind": self.kind,
                "heading": self.heading}


@dataclass
class Dataset:
    """`chart`: {"type": line|bar|pie|stack, "x": column key, "series": [column keys],
    "y_name": axis title with unit}; `rows` are lists in column order."""

    id: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    chart: dict = field(default_factory=dict)
    note: str | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "note": self.note,
                "columns": [c.to_dict() for c in self.columns],
                "rows": [[jsonable(v) for v in row] for row in self.rows],
                "chart": self.chart}

    def records(self) -> list[dict]:
        keys = [c.key for c in self.columns]
        return [dict(zip(keys, (jsonable(v) for v in row), strict=True)) for row in self.rows]


def rnd(value: Any, places: int = 3) -> Decimal | None:
    """Round half-up once, here: chart, table, API and export all show this value."""
    if value is None:
        return None
    q = Decimal(1).scaleb(-places)
    return Decimal(value).quantize(q, rounding=ROUND_HALF_UP)


def pct(num: Any, den: Any, places: int = 2) -> Decimal | None:
    """num / den x 100; None when the base is missing or zero (no fake 0 %)."""
    if num is None or den is None or Decimal(den) == 0:
        return None
    return rnd(Decimal(num) * 100 / Decimal(den), places)


def change(cur: Any, prev: Any) -> Decimal | None:
    """Relative change in % (YoY / MoM); None when there is no base."""
    if cur is None or prev is None or Decimal(prev) == 0:
        return None
    return rnd((Decimal(cur) - Decimal(prev)) * 100 / abs(Decimal(prev)), 2)


def jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    return v
