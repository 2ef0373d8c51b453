"""Demo data for monitoring: public institutions with monthly energy for their base year
and the recent months, then a full build of the monitoring facts (after accounting's demo
loader has written the carbon accounts)."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select

from app.demo import demo_school_code
from app.extensions import db
from app.orgs.models import Institution

INSTITUTIONS = (
    (demo_school_code(), "湖州市示范中学", "330502", 2020, True),
    ("PI-330500-002", "湖州市中心医院（示范）", "330502", 2020, True),
    ("PI-330500-003", "长兴县图书馆（示范）", "330522", 2021, False),
)


def _months_back(n: int) -> list[tuple[int, int]]:
    today = date.today()
    out = []
    y, m = today.year, today.month
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append((y, m))
    return sorted(out)


def load_demo(enterprises: int, months: int) -> None:
    """Idempotent: existing institution-months are replaced with the same figures."""
    from app.monitoring import facts
    from app.monitoring.institutions import record_month
    from app.monitoring.models import InstitutionEnergy

    for code, name, region, base, published in INSTITUTIONS:
        inst = db.session.scalar(select(Institution).where(Institution.code == code))
        if inst is None:
            inst = Institution(code=code, name=name, kind="public", region_code=region,
                               base_year=base, published=published)
            db.session.add(inst)
            db.session.flush()
        if db.session.scalar(select(InstitutionEnergy.id).where(
                InstitutionEnergy.institution_id == inst.id).limit(1)) is not None:
            continue
        rnd = random.Random(code)
        size = rnd.uniform(0.6, 2.0)
        periods = [(base, m) for m in range(1, 13)] + _months_back(max(months, 12))
        for i, (y, m) in enumerate(sorted(set(periods))):
            saving = 1 - 0.04 * (y - base) if y > base else 1.0
            season = 1.25 if m in (1, 2, 7, 8, 12) else 1.0
            lines = [{"item": "electricity",
                      "amount": round(120 * size * season * saving * rnd.uniform(0.95, 1.05), 3)},
                     {"item": "natural_gas",
                      "amount": round(0.8 * size * season * saving * rnd.uniform(0.9, 1.1), 4)}]
            record_month(institution=inst, year=y, month=m, lines=lines,
                         verified=y == base or i % 3 == 0, verified_by="浙江示范碳核查中心")
    facts.refresh_facts()
