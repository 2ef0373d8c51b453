"""Benchmark enterprises and reduction potential (R-4b).

Per industry (the code's comparison level) and comparison area, for a year: the
enterprises with the lowest CO2 per 万元 value added (标杆企业), the best-quartile
intensity q₂₅ (25th percentile of the enterprises' intensities, numpy's linear method) and
the potential Σ max(0, CO2ᵢ − q₂₅ · VAᵢ): what the industry would emit less if every
enterprise reached its best quartile. Industries ranked by total potential."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from app.accounting import codes, engine
from app.analytics import series
from app.identity.scope import DataScope

MIN_ENTERPRISES = 4  # a quartile of fewer says nothing


def potential(*, scope: DataScope, year: int, industry: str | None = None,
              top: int = 3) -> list[dict[str, Any]]:
    cfg = codes.settings()
    groups: dict[tuple, list] = {}
    for _eid, uscc, name, region, ind, co2, va, months in series.year_totals(
            year=year, scope=scope, industry=industry):
        icode = codes.industry_of(ind, cfg["industry_level"])
        if icode is None or va is None or va <= 0:
            continue
        area = codes.area_of(region, cfg["area_level"])
        groups.setdefault((area, icode), []).append(
            {"uscc": uscc, "name": name, "co2": Decimal(co2), "value_added": Decimal(va),
             "intensity": engine.ratio(Decimal(co2), Decimal(va)), "months": months})
    names = _names({k[1] for k in groups} | {k[0] for k in groups})
    out = []
    for (area, icode), ents in groups.items():
        if len(ents) < MIN_ENTERPRISES:
            continue
        q25 = Decimal(str(np.percentile([float(e["intensity"]) for e in ents], 25))) \
            .quantize(Decimal("0.000001"))
        total = Decimal(0)
        for e in ents:
            e["potential"] = max(engine.q6(e["co2"] - q25 * e["value_added"]), Decimal(0))
            total += e["potential"]
        co2 = sum((e["co2"] for e in ents), Decimal(0))
        ents.sort(key=lambda e: e["intensity"])
        out.append({"area_code": area, "area_name": names.get(area, area),
                    "industry_code": icode, "industry_name": names.get(icode, icode),
                    "enterprises": len(ents), "co2": co2, "best_quartile_intensity": q25,
                    "potential": total,
                    "potential_pct": (total / co2 * 100).quantize(Decimal("0.1"))
                    if co2 else None,
                    "leaders": ents[:top],
                    "largest": sorted([e for e in ents if e["potential"] > 0],
                                      key=lambda e: -e["potential"])[:top]})
    return sorted(out, key=lambda g: -g["potential"])


def _names(codes_: set[str]) -> dict[str, str]:
    from sqlalchemy import select

    from app.extensions import db
    from app.orgs.models import Industry, Region

    out = dict(db.session.execute(select(Industry.code, Industry.name).where(
        Industry.code.in_(codes_))).all())
    out.update(db.session.execute(select(Region.code, Region.name).where(
        Region.code.in_(codes_))).all())
    return out
