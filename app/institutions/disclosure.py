"""Yearly public disclosure of a public institution's figures (6.5.3), approved by the
government reviewer of its region (process `processes/institution_disclosure`; the BPMN
side is `app.institutions.bpmn`).

Submitting freezes the year's months and stores a snapshot of the figures (the inventory
with its derivations, the target and progress); approval publishes that snapshot, which is
what the public page shows; a return unfreezes the year for correction, and resubmitting
takes a new snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.audit.service import record as audit
from app.db import utcnow
from app.extensions import db
from app.institutions import inventory as inv
from app.institutions import targets
from app.institutions.models import InstitutionDisclosure
from app.orgs.models import Institution

PROCESS = "institution_disclosure"


def get(*, institution: Institution, year: int) -> InstitutionDisclosure | None:
    return db.session.scalar(select(InstitutionDisclosure).where(
        InstitutionDisclosure.institution_id == institution.id,
        InstitutionDisclosure.year == year))


def get_all(*, institution: Institution) -> list[InstitutionDisclosure]:
    return list(db.session.scalars(select(InstitutionDisclosure).where(
        InstitutionDisclosure.institution_id == institution.id)
        .order_by(InstitutionDisclosure.year.desc())))


def completeness_errors(*, institution: Institution, year: int) -> dict[str, str]:
    months = inv.annual_totals([institution.id]).get((institution.id, year), {})
    if len(months) < 12:
        return {"year": f"{year} 年只有 {len(months)} 个月的数据，须填报完整 12 个月后才能申请公示"}
    return {}


def start_errors(*, institution: Institution, year: int) -> dict[str, str]:
    """Why a new disclosure case for the year cannot start (field -> message)."""
    found = get(institution=institution, year=year)
    if found is not None and found.status == "published":
        return {"year": f"{year} 年数据已公示"}
    if found is not None and found.status == "submitted":
        return {"year": f"{year} 年数据已提交审核，请等待审核结果"}
    if found is not None and found.status == "returned":
        return {"year": f"{year} 年的公示申请已退回，请在待办中更正后重新提交"}
    return completeness_errors(institution=institution, year=year)


def snapshot(*, institution: Institution, year: int) -> dict[str, Any]:
    """The figures as they are submitted (JSON-safe)."""
    data = inv.inventory(institution=institution, year=year)
    target = targets.get(institution=institution)
    prog = targets.progress(institution=institution, target=target, year=year)
    return inv.as_json({
        "institution": {"code": institution.code, "name": institution.name,
                        "region": institution.region_code},
        "year": year, "scope1": data["scope1"], "scope2": data["scope2"],
        "total": data["total"], "biomass": data["biomass"], "tce": data["tce"],
        "months": [{k: m[k] for k in ("month", "scope1", "scope2", "total", "tce")}
                   for m in data["months"]],
        "lines": _annual_lines(data), "method": data["method"],
        "target": None if target is None else {
            "metric": target.metric, "basis": target.basis, "label": target.label,
            "base_year": target.base_year,
            "target_year": target.target_year, "reduction_pct": target.reduction_pct},
        "progress": {k: v for k, v in prog.items() if k != "metric"}})


def _annual_lines(data: dict) -> list[dict]:
    """Per energy item over the year: amount, CO2, tce, scope and the factors used."""
    out: dict[str, dict] = {}
    for m in data["months"]:
        for ln in m["lines"]:
            row = out.setdefault(ln["item"], {"item": ln["item"], "name": ln["name"],
                                              "unit": ln["unit"],
                                              "scope": ln["scope"], "amount": 0, "co2": 0,
                                              "tce": 0, "factors": []})
            row["amount"] += ln["amount"]
            row["co2"] += ln["co2"]
            row["tce"] += ln["tce"]
            f = ln.get("factor")
            if f and f not in row["factors"]:
                row["factors"].append(f)
    return list(out.values())


def open_(*, institution: Institution, year: int, case_id: int, user: Any) -> None:
    """Submitted (again): freeze the year and take the snapshot."""
    row = get(institution=institution, year=year) or InstitutionDisclosure(
        institution_id=institution.id, year=year)
    row.status, row.case_id = "submitted", case_id
    row.figures = snapshot(institution=institution, year=year)
    row.submitted_by, row.submitted_at = getattr(user, "email", None), utcnow()
    db.session.add(row)
    db.session.flush()
    audit("institution.disclosure.submit", object_type="institution_disclosure",
          object_id=row.id, user=user,
          summary={"institution": institution.code, "year": year, "case": case_id,
                   "total": row.figures["total"]})


def decide(*, institution: Institution, year: int, decision: str, comment: str | None,
           user: Any) -> InstitutionDisclosure:
    row = get(institution=institution, year=year)
    row.decided_by, row.decided_at, row.comment = getattr(user, "email", None), utcnow(), comment
    if decision == "approve":
        row.status, row.published_at = "published", utcnow()
    else:
        row.status = "returned"
    db.session.flush()
    audit(f"institution.disclosure.{'publish' if decision == 'approve' else 'return'}",
          object_type="institution_disclosure", object_id=row.id, user=user,
          summary={"institution": institution.code, "year": year, "comment": comment})
    return row


def published(*, code: str) -> tuple[Institution | None, list[InstitutionDisclosure]]:
    """The public view: an institution and its published years (nothing else)."""
    inst = db.session.scalar(select(Institution).where(Institution.code == code,
                                                       Institution.kind == "public"))
    if inst is None:
        return None, []
    rows = [d for d in get_all(institution=inst) if d.status == "published"]
    return (inst, rows) if rows else (None, [])


def published_institutions() -> list[tuple[Institution, list[int]]]:
    rows = db.session.execute(select(Institution, InstitutionDisclosure.year).join(
        InstitutionDisclosure, InstitutionDisclosure.institution_id == Institution.id).where(
        InstitutionDisclosure.status == "published").order_by(Institution.code,
                                                               InstitutionDisclosure.year))
    out: dict[int, tuple[Institution, list[int]]] = {}
    for inst, year in rows:
        out.setdefault(inst.id, (inst, []))[1].append(year)
    return list(out.values())
