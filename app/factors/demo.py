"""`cecp demo`: the illustrative 31-province year, the demo enterprises' factors and the
estimates from electricity (runs after the accounting demo, whose accounts it fits)."""

from __future__ import annotations

from app.factors import estimates, library, regional


def load(enterprises: int, months: int) -> None:
    regional.load_demo()
    library.compute(min_months=min(library.MIN_MONTHS, max(months, 3)))
    estimates.estimate()
