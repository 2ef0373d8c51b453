"""The vocabulary of energy data, free of the database: flows of a record line, energy
categories (which of them are fuels), and the figures of one factor version as the
accounting engine reads them. Accounting imports these from here (downward); energy never
imports accounting."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: flows of a record line and the energy categories each accepts
FLOWS = {
    "consumed": "消耗",
    "purchased": "外购",
    "exported": "外供",
    "self_generated": "自发（可再生）",
    "process": "工业过程",
}
CATEGORIES = {
    "coal": "煤炭", "oil": "石油", "gas": "天然气及煤气", "electricity": "电力",
    "heat": "热力", "biomass": "生物质", "other": "其他",
}
#: categories burnt as fossil fuels (GB/T 32150 combustion emissions)
FUEL_CATEGORIES = ("coal", "oil", "gas", "other")
#: factor kinds read as the purchased / exported electricity factor
ELECTRICITY_KINDS = ("grid_electricity", "grid_electricity_ets")


@dataclass(frozen=True)
class Factor:
    """The figures of one factor version, as the engine needs them."""

    kind: str
    unit: str = ""
    value: Decimal | None = None
    ncv: Decimal | None = None
    carbon_content: Decimal | None = None
    oxidation_rate: Decimal | None = None
    id: int | None = None
    code: str | None = None
    version: int | None = None
    year: int | None = None
    source: str | None = None


def item_of(*, kind: str, code: str, energy_code: str | None) -> str | None:
    """The record-line item a factor of this kind prices: the energy type of a combustion
    factor, the process code, `heat`, or `electricity` (None: not read by accounting)."""
    if kind == "combustion":
        return energy_code
    if kind == "process":
        return code
    if kind == "heat":
        return "heat"
    if kind in ELECTRICITY_KINDS:
        return "electricity"
    return None
