"""The government's view of the public institutions of its region: reduction against each
base year, ranking by that reduction (%), and the targets at risk (`targets.progress`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.identity.scope import DataScope
from app.institutions import service as institutions
from app.institutions import targets
from app.institutions.inventory import annual_totals
from app.institutions.models import InstitutionDisclosure, InstitutionTarget


def build(*, scope: DataScope, year: int | None = None) -> dict[str, Any]:
    insts = institutions.get_all(scope=scope)
    ids = [i.id for i in insts]
    totals = annual_totals(ids)
    goals = {t.institution_id: t for t in db.session.scalars(
        select(InstitutionTarget).where(InstitutionTarget.institution_id.in_(ids)))} \
        if ids else {}
    published = {(iid, y) for iid, y in db.session.execute(
        select(InstitutionDisclosure.institution_id, InstitutionDisclosure.year).where(
            InstitutionDisclosure.institution_id.in_(ids),
            InstitutionDisclosure.status == "published"))} if ids else set()
    rows = []
    for inst in insts:
        target = goals.get(inst.id)
        # the ranking: CO2 (scope 1 + 2) against the base year, whatever the target measures
        co2 = targets.progress(institution=inst, target=None, totals=totals, year=year)
        p = targets.progress(institution=inst, target=target, totals=totals, year=year) \
            if target else co2
        rows.append({"code": inst.code, "name": inst.name, "region": inst.region_code,
                     "region_name": inst.region.name if inst.region else "",
                     "published": (inst.id, co2.get("year")) in published,
                     "base_year": co2.get("base_year"), "year": co2.get("year"),
                     "months": co2.get("months"), "base": co2.get("base"),
                     "actual": co2.get("actual"), "reduction_pct": co2.get("reduction_pct"),
                     "status": p["status"], "metric": p.get("metric"),
                     "basis": p.get("basis", "total"), "target_year": p.get("target_year"),
                     "target_pct": p.get("target_pct"),
                     "target_label": target.label if target else None,
                     "target_reduction_pct": p.get("reduction_pct") if target else None,
                     "expected_pct": p.get("expected_pct")})
    ranked = sorted((r for r in rows if r.get("reduction_pct") is not None),
                    key=lambda r: (-r["reduction_pct"], r["code"]))
    for n, r in enumerate(ranked, start=1):
        r["rank"] = n
    rest = [r for r in rows if r.get("reduction_pct") is None]
    rows = ranked + rest
    status_count: dict[str, int] = {}
    for r in rows:
        status_count[r["status"]] = status_count.get(r["status"], 0) + 1
    base = sum((r["base"] for r in ranked), Decimal(0))
    actual = sum((r["actual"] for r in ranked), Decimal(0))
    return {"rows": rows, "at_risk": [r for r in rows if r["status"] == "at_risk"],
            "counts": status_count, "institutions": len(rows),
            "base": base, "actual": actual, "reduction": base - actual,
            "chart": {"names": [r["name"] for r in ranked],
                      "reduction_pct": [float(r["reduction_pct"]) for r in ranked],
                      "expected_pct": [float(r["expected_pct"]) if r.get("expected_pct")
                                       is not None else None for r in ranked]}}
