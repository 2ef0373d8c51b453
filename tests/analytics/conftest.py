"""A small province for analytics: enterprises of one industry with three years of monthly
records (anthracite and purchased electricity), accounts and codes issued."""

from __future__ import annotations

import math

import pytest

from tests.accounting.conftest import energy_ref, make_ent  # noqa: F401  (shared fixtures)

YEARS = (2023, 2024, 2025)


def month_lines(coal: float, mwh: float) -> list[dict]:
    return [{"item": "anthracite", "flow": "consumed", "amount": f"{coal:.3f}", "unit": "t"},
            {"item": "electricity", "flow": "purchased", "amount": f"{mwh:.3f}",
             "unit": "MWh"}]


@pytest.fixture()
def province(energy_ref, make_ent):  # noqa: F811  (the imported fixtures)
    """province(n, spike=None) -> enterprises; `spike=(i, period)` makes enterprise i burn
    three times its coal that month. Accounts, codes and analytics are computed."""
    from app.accounting import bulk, codes
    from app.analytics import service
    from app.energy import records
    from app.identity.scope import DataScope
    from app.uow import commit

    def _make(n: int = 6, *, spike: tuple[int, int] | None = None, region: str = "330522"):
        ents = [make_ent(100 + i, region=region) for i in range(n)]
        items = []
        for i, e in enumerate(ents):
            size = 1 + 0.15 * i
            for y in YEARS:
                for m in range(1, 13):
                    season = 1 + 0.2 * math.sin(2 * math.pi * (m - 1) / 12)
                    coal = 100 * size * season * (1 + 0.01 * ((i * 7 + m * 3 + y) % 5))
                    if spike == (i, y * 100 + m):
                        coal *= 3
                    items.append({"uscc": e.uscc, "year": y, "month": m,
                                  "gross_output": f"{3000 * size:.1f}",
                                  "value_added": f"{1000 * size:.1f}",
                                  "lines": month_lines(coal, 80 * size * season)})
        recs = records.create_many(items=items, scope=DataScope(all=True), compute=False)
        bulk.compute_accounts(record_ids=[r.id for r in recs])
        codes.issue(periods=[y * 100 + m for y in YEARS for m in range(1, 13)])
        commit()  # runs the outbox jobs in-process (monitoring, analytics flags)
        service.run_forecasts()
        commit()
        return ents

    return _make

