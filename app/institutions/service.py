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
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.accounting import engine
from app.audit.service import record as audit
from app.energy import service as energy
from app.extensions import db
from app.identity.scope import DataScope, scope_clause
from app.monitoring.models import InstitutionEnergy
from app.orgs.models import Institution
from app.uow import refused

ALLOWED_FLOWS = {"consumed": "消耗（范围一：燃料）", "purchased": "外购（范围二：电力、热力）"}
#: engine bucket -> ISO 14064-1 scope (biomass CO2 is reported apart, in no scope)
SCOPE_OF = {"combustion": 1, "electricity": 2, "heat": 2, "biomass": None}


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
    """Each clean line as the row it will be stored as (amount, tce, co2, derivation);
    EntryError naming the line when the library cannot price it."""
    resolved = energy.resolve(year=year, month=month, region_code=institution.region_code,
                              cache=cache)
    out = []
    for i, ln in enumerate(lines):
        et = types[ln["item"]]
        factor = resolved.factors.get(et.code)
        try:
            res = engine.compute_line(engine.Line(
                flow=ln["flow"], item=et.code, category=et.category, amount=ln["amount"],
                unit=et.unit, factor=factor, tce_factor=et.tce_factor, name=et.name,
                ncv=ln.get("ncv"), carbon_content=ln.get("carbon_content"),
                oxidation_rate=ln.get("oxidation_rate"), factor_value=ln.get("factor_value")))
        except engine.EngineError as exc:
            raise EntryError({f"{prefix}lines.{i}.{exc.field}": exc.message}) from None
        co2 = Decimal(0) if res.bucket == "biomass" else res.co2
        derivation = {
            "flow": res.flow, "bucket": res.bucket, "scope": SCOPE_OF.get(res.bucket),
            "bucket_label": engine.BUCKETS[res.bucket], "formula": res.formula,
            "ef": str(res.ef), "parameter_origin": res.parameter_origin,
            "ncv": _s(res.ncv), "carbon_content": _s(res.carbon_content),
            "oxidation_rate": _s(res.oxidation_rate),
            "factor": None if factor is None else {
                "id": factor.id, "code": factor.code, "version": factor.version,
                "year": factor.year, "unit": factor.unit, "source": factor.source},
            "factor_note": resolved.notes.get(et.code),
            "tce_factor": _s(et.tce_factor),
            "tce_formula": (f"{res.amount} {et.unit} × {et.tce_factor} tce/{et.unit} = "
                            f"{res.tce} tce") if et.tce_factor is not None else "无折标系数",
            "note": ln.get("note")}
        out.append({"item": et.code, "unit": et.unit, "amount": res.amount, "tce": res.tce,
                    "co2": co2, "factor_id": res.factor_id, "derivation": derivation})
    return out


def _s(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def write_month(*, institution: Institution, year: int, month: int, rows: list[dict],
                source: str, verified: bool = False, verified_by: str | None = None) -> None:
    """Replace one institution-month with computed rows (flush, no commit)."""
    period = year * 100 + month
    db.session.execute(InstitutionEnergy.__table__.delete().where(
        InstitutionEnergy.institution_id == institution.id,
        InstitutionEnergy.period == period))
    for r in rows:
        db.session.add(InstitutionEnergy(
            institution_id=institution.id, period=period, year=year, month=month,
            verified=verified, verified_by=verified_by, source=source, **r))
    db.session.flush()


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
