"""Enterprises with a monthly history of electricity and coal, accounted by the real
GB/T 32150 pipeline (energy records → carbon accounts)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.accounting.conftest import energy_ref, make_ent  # noqa: F401  (shared fixtures)


@pytest.fixture()
def history(energy_ref):  # noqa: F811  (the imported fixture)
    """history(ent, months=24, coal_per_mwh=0.5, seed=1, elec_only=()) writes the records
    (2023-01 onwards) and accounts them; `elec_only` months carry electricity alone."""
    from app.energy import records
    from app.identity.scope import DataScope

    def _make(ent, *, months: int = 24, coal_per_mwh: float = 0.5, seed: int = 1,
              elec_only: tuple[int, ...] = (), base: float = 0.0, start_year: int = 2023):
        rng = np.random.default_rng(seed)
        items = []
        for k in range(months):
            year, month = start_year + k // 12, k % 12 + 1
            mwh = round(float(rng.uniform(200, 1200)), 3)
            lines = [{"item": "electricity", "flow": "purchased", "amount": str(mwh),
                      "unit": "MWh"}]
            if k not in elec_only:
                coal = round(base + coal_per_mwh * mwh * float(rng.normal(1, 0.03)), 3)
                lines.append({"item": "bituminous_coal", "flow": "consumed",
                              "amount": str(coal), "unit": "t"})
            items.append({"uscc": ent.uscc, "year": year, "month": month,
                          "gross_output": "3000", "value_added": "1000", "lines": lines})
        records.create_many(items=items, scope=DataScope(all=True))
        energy_ref.session.commit()

    return _make
