"""Statistical disclosure control for research exports (R-6.5.1): aggregated cells that never
let a reader single out an enterprise.

Two primary rules, both configurable:

* **threshold (k)** — a cell is published only if it covers at least `k` enterprises
  (`CECP_RESEARCH_MIN_ENTERPRISES`, default 5);
* **dominance** — a cell is withheld if one enterprise contributes more than `share` of any
  of its published totals (`CECP_RESEARCH_DOMINANCE`, default 0.5): the (1, p) dominance rule
  of the disclosure-control literature (Hundepool et al., *Statistical Disclosure Control*,
  Wiley 2012, §4.2).

Secondary (complementary) suppression: an export carries no margins or totals, so a withheld
cell cannot be recovered by subtraction within one export; where a group of cells that share
every key but one would show exactly one withheld cell beside published ones, the smallest
published cell of that group is withheld too, so that a reader who knows the group's total
from elsewhere (a published statistic) still cannot derive it.

Pure Python: nothing here touches the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

REASONS = {"k": "覆盖企业数少于 {k} 家", "dominance": "单一企业占比超过 {share:.0%}",
           "secondary": "为防止推算被隐匿的单元格而一并隐匿"}


@dataclass
class Cell:
    key: tuple                      # (region, industry, year) or whatever grouping
    enterprises: int
    totals: dict[str, Decimal]      # indicator -> sum over the cell's enterprises
    largest: dict[str, Decimal]     # indicator -> the largest single enterprise's value
    suppressed: str | None = None   # None, "k", "dominance" or "secondary"
    shares: dict[str, float] = field(default_factory=dict)


def primary(cells: list[Cell], *, k: int, share: float) -> None:
    """Mark the cells that fail the threshold or the dominance rule."""
    for c in cells:
        if c.enterprises < k:
            c.suppressed = "k"
            continue
        for name, total in c.totals.items():
            top = c.largest.get(name) or Decimal(0)
            if total and total > 0:
                c.shares[name] = float(top / total)
                if top / total > Decimal(str(share)):
                    c.suppressed = "dominance"
                    break


def secondary(cells: list[Cell]) -> None:
    """Withhold one more cell in every group (cells equal in all keys but one) that would
    otherwise show a single withheld cell; repeat until no group has one."""
    width = len(cells[0].key) if cells else 0
    changed = True
    while changed:
        changed = False
        for free in range(width):
            groups: dict[tuple, list[Cell]] = defaultdict(list)
            for c in cells:
                groups[c.key[:free] + c.key[free + 1:]].append(c)
            for group in groups.values():
                hidden = [c for c in group if c.suppressed]
                shown = [c for c in group if not c.suppressed]
                if len(hidden) == 1 and shown:
                    smallest = min(shown, key=lambda c: (c.enterprises, c.key))
                    smallest.suppressed = "secondary"
                    changed = True


def protect(cells: list[Cell], *, k: int, share: float) -> list[Cell]:
    """Both rules and the complementary suppression, in place; returns the cells."""
    primary(cells, k=k, share=share)
    secondary(cells)
    return cells


def reason(cell: Cell, *, k: int, share: float) -> str | None:
    return None if cell.suppressed is None else REASONS[cell.suppressed].format(k=k, share=share)
