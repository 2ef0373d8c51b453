"""Monthly energy of a public institution (6.5.3): validated exactly as an enterprise's
record lines (`app.energy.service.validate_line`, the same catalogue, units and messages),
computed by the GB/T 32150 engine with the dated factor library, stored per line with its
derivation (ISO 14064-1 scope, factor and source, formula).

Institutions burn fuels on site and in their own vehicles (scope 1, flow "consumed") and buy
electricity and heat (scope 2, flow "purchased"); other flows (process, export, own
generation) are refused. A batch (form, spreadsheet, API) is checked whole before anything
is written; a month of a year under review or published is frozen.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.audit.service import record as audit
from app.energy import service as energy
from app.extensions import db
from app.identity.scope import DataScope, scope_clause
from app.monitoring.institutions import (
    SCOPE_OF,
    InstitutionDataError,
    price_lines,
    write_month,
)
from app.monitoring.models import InstitutionEnergy
from app.orgs.models import Institution
from app.uow import refused

ALLOWED_FLOWS = {"consumed": "消耗（范围一：燃料）", "purchased": "外购（范围二：电力、热力）"}
TEXT_KEYS = ("item", "energy_type", "process", "flow", "unit", "note")
__all__ = ["ALLOWED_FLOWS", "SCOPE_OF", "EntryError", "compute_lines", "get", "get_all",
           "own", "save_months", "validate_month", "write_month"]


class EntryError(ValueError):
    """Validation failed: `fields` maps a field path to its Chinese message."""

    def __init__(self, fields: dict[str, str], *, status: int = 422):
        super().__init__("；".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields, self.status = fields, status


def _public():
    return select(Institution).where(Institution.kind == "public")


def get_all(*, scope: DataScope) -> list[Institution]:
    """Public institutions the caller's scope covers (its own, or those of its region)."""
    return list(db.session.scalars(_public().where(scope_clause(Institution, scope))
                                    .order_by(Institution.region_code, Institution.code)))


def get(*, code: str, scope: DataScope) -> Institution | None:
    return db.session.scalar(_public().where(Institution.code == code,
                                             scope_clause(Institution, scope)))


def own(*, scope: DataScope) -> list[Institution]:
    """The public institutions the caller belongs to (named in its scope, not by region)."""
    if not scope.institution:
        return []
    return list(db.session.scalars(_public().where(Institution.code.in_(scope.institution))
                                   .order_by(Institution.code)))


def is_member(*, institution: Institution, scope: DataScope) -> bool:
    return institution.code in scope.institution


def frozen_years(*, institution: Institution) -> dict[int, str]:
    """Years that may not change: under review or published (year -> reason)."""
    from app.institutions.models import InstitutionDisclosure

    out = {}
    for year, status in db.session.execute(
            select(InstitutionDisclosure.year, InstitutionDisclosure.status).where(
                InstitutionDisclosure.institution_id == institution.id)):
        if status == "submitted":
            out[year] = f"{year} 年数据正在政府审核中，审核结束前不能修改"
        elif status == "published":
            out[year] = f"{year} 年数据已公示，不能修改"
    return out


def validate_month(data: Any, *, institution: Institution, today: date | None = None,
                   prefix: str = "", catalogue=None,
                   frozen: dict[int, str] | None = None) -> tuple[dict | None, dict[str, str]]:
    """One institution-month {"year", "month", "lines": [...]}: (clean, {}) or (None, errors)."""
    errors: dict[str, str] = {}
    p = prefix
    if not isinstance(data, dict):
        return None, {p.rstrip(".") or "body": "记录格式不正确"}
    types, procs, incomplete = catalogue or energy.catalogue()
    year = energy.parse_int(data.get("year"), p + "year", errors, "年份", 2000, 2100)
    month = energy.parse_int(data.get("month"), p + "month", errors, "月份", 1, 12)
    today = today or date.today()
    if year and month and year * 100 + month > today.year * 100 + today.month:
        errors[p + "month"] = f"不能填报未来月份（{year}-{month:02d}）"
    if year and frozen and year in frozen:
        errors[p + "year"] = frozen[year]
    raw_lines = data.get("lines") or []
    if not isinstance(raw_lines, list) or not raw_lines:
        errors[p + "lines"] = "请至少填写一行能源数据"
        raw_lines = []
    lines = []
    for i, raw in enumerate(raw_lines):
        path = f"{p}lines.{i}"
        if isinstance(raw, dict):  # any JSON value: text fields as text, never a 500
            raw = {k: (str(v) if k in TEXT_KEYS and v is not None and not isinstance(v, str)
                       else v) for k, v in raw.items()}
        flow = (raw.get("flow") or "").strip() if isinstance(raw, dict) else ""
        if isinstance(raw, dict) and flow in energy.FLOWS and flow not in ALLOWED_FLOWS:
            errors[f"{path}.flow"] = ("公共机构只填报燃料“消耗”（范围一）和电力、热力“外购”"
                                      "（范围二）")
            continue
        lines.append(energy.validate_line(raw, path, errors, types, procs, incomplete))
    seen: dict[str, int] = {}
    for i, ln in enumerate(lines):
        if ln is None:
            continue
        if ln["item"] in seen:
            errors[f"{p}lines.{i}.item"] = (f"与第 {seen[ln['item']] + 1} 行重复"
                                            "（同一品种请合并填写）")
        seen.setdefault(ln["item"], i)
    if errors:
        return None, errors
    return {"year": year, "month": month, "lines": [ln for ln in lines if ln]}, {}


def compute_lines(*, institution: Institution, year: int, month: int, lines: list[dict],
                  types: dict, cache: dict | None = None, prefix: str = "") -> list[dict]:
    """Each clean line as the row it will be stored as (`monitoring.institutions`, which
    owns the table); EntryError naming the line when the library cannot price it."""
    try:
        return price_lines(institution=institution, year=year, month=month, lines=lines,
                           types=types, cache=cache)
    except InstitutionDataError as exc:
        raise EntryError({prefix + exc.field: exc.message}) from None


def save_months(*, institution: Institution, items: list[Any], source: str, user: Any,
                today: date | None = None, label: str = "months") -> list[tuple[int, int]]:
    """Validate every month, then write all (or raise EntryError and write nothing)."""
    if not isinstance(items, list) or not items:
        raise EntryError({label: "请至少提交一个月的数据"})
    catalogue = energy.catalogue()
    frozen = frozen_years(institution=institution)
    cleaned, errors, seen = [], {}, {}
    for i, item in enumerate(items):
        prefix = f"{label}.{i}." if label else ""
        clean, errs = validate_month(item, institution=institution, today=today,
                                     prefix=prefix, catalogue=catalogue, frozen=frozen)
        errors.update(errs)
        if clean is None:
            continue
        key = (clean["year"], clean["month"])
        if key in seen:
            errors[prefix + "month"] = f"与第 {seen[key] + 1} 个月份重复"
        seen.setdefault(key, i)
        cleaned.append((prefix, clean))
    if errors:
        _refused(institution, user, errors)
        raise EntryError(errors)
    cache: dict = {}
    computed = []
    for prefix, clean in cleaned:  # price every month before writing any
        try:
            computed.append((clean, compute_lines(
                institution=institution, year=clean["year"], month=clean["month"],
                lines=clean["lines"], types=catalogue[0], cache=cache, prefix=prefix)))
        except EntryError as exc:
            _refused(institution, user, exc.fields)
            raise
    for clean, rows in computed:
        write_month(institution=institution, year=clean["year"], month=clean["month"],
                    rows=rows, source=source)
    periods = sorted((c["year"], c["month"]) for c, _ in computed)
    audit("institution.energy.save", object_type="institution", object_id=institution.code,
          user=user, summary={"source": source, "count": len(periods),
                              "periods": [f"{y}-{m:02d}" for y, m in periods][:60]})
    return periods


def _refused(institution: Institution, user: Any, errors: dict[str, str]) -> None:
    refused("institution.energy.refused", object_type="institution",
          object_id=institution.code, user=user,
          summary={"fields": dict(list(errors.items())[:20])})


def month_lines(*, institution: Institution, year: int,
                month: int | None = None) -> list[InstitutionEnergy]:
    stmt = select(InstitutionEnergy).where(InstitutionEnergy.institution_id == institution.id,
                                           InstitutionEnergy.year == year)
    if month is not None:
        stmt = stmt.where(InstitutionEnergy.month == month)
    return list(db.session.scalars(stmt.order_by(InstitutionEnergy.month,
                                                 InstitutionEnergy.item)))


def years(*, institution: Institution) -> list[int]:
    return sorted(db.session.scalars(select(InstitutionEnergy.year).where(
        InstitutionEnergy.institution_id == institution.id).distinct()))
