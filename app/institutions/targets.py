"""Base year and reduction target of a public institution, and whether it is on track.

The model: reduce the base year's CO2 (scope 1 + 2, tCO2) or energy (tce) — in total, per
person (人均) or per m² of floor area (单位建筑面积, the year's `InstitutionProfile`) — by
`reduction_pct` % by `target_year`. The yardstick for a year y between them is the straight
line from the base value to the target value:

    allowed(y) = base × (1 − pct/100 × (y − base_year) / (target_year − base_year))

A year not yet complete is compared month for month with the same months of the base year
(a partial year would otherwise look like a reduction). Status: `achieved` (at or below the
target value), `on_track` (at or below the line), `at_risk` (above the line), `no_data`.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.audit.service import record as audit
from app.db import utcnow
from app.extensions import db
from app.institutions.inventory import annual_totals
from app.institutions.models import (
    BASES,
    METRICS,
    InstitutionProfile,
    InstitutionTarget,
)
from app.institutions.service import EntryError
from app.orgs.models import Institution

Q2 = Decimal("0.01")
Q3 = Decimal("0.001")
Q6 = Decimal("0.000001")


def get(*, institution: Institution) -> InstitutionTarget | None:
    return db.session.scalar(select(InstitutionTarget).where(
        InstitutionTarget.institution_id == institution.id))


def set_target(*, institution: Institution, data: Any, user: Any,
               today: date | None = None) -> InstitutionTarget:
    """Create or replace the target (the base year must have 12 months of data)."""
    if not isinstance(data, dict):
        raise EntryError({"body": "请求体必须是 JSON 对象"}, status=400)
    today = today or date.today()
    errors: dict[str, str] = {}
    metric = str(data.get("metric") or "co2").strip()
    if metric not in METRICS:
        errors["metric"] = "指标必须是 co2（碳排放总量）或 energy（综合能耗总量）"
    basis = str(data.get("basis") or "total").strip()
    if basis not in BASES:
        errors["basis"] = "口径必须是 total（总量）、per_capita（人均）或 per_area（单位建筑面积）"
    base_year = _year(data.get("base_year"), "base_year", "基准年", errors, 2000, today.year - 1)
    target_year = _year(data.get("target_year"), "target_year", "目标年", errors,
                        today.year, 2060)
    if base_year and target_year and target_year <= base_year:
        errors["target_year"] = "目标年必须晚于基准年"
    try:
        pct = Decimal(str(data.get("reduction_pct")).strip())
        if not pct.is_finite() or not Decimal(0) < pct < Decimal(100):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["reduction_pct"] = "下降比例必须是大于 0、小于 100 的数字（%）"
        pct = None
    if base_year and "base_year" not in errors:
        months = annual_totals([institution.id]).get((institution.id, base_year), {})
        if len(months) < 12:
            errors["base_year"] = (f"基准年 {base_year} 年只有 {len(months)} 个月的数据，"
                                   "须先填报完整 12 个月")
        elif basis in ("per_capita", "per_area") and not profiles(
                institution=institution).get(base_year):
            errors["basis"] = (f"按{BASES[basis][0]}设定目标，须先填报基准年 {base_year} 年"
                               "的用能人数和建筑面积")
    if errors:
        from app.uow import refused

        refused("institution.target.refused", object_type="institution",
                object_id=institution.code, user=user, summary={"fields": errors})
        raise EntryError(errors)
    target = get(institution=institution) or InstitutionTarget(institution_id=institution.id)
    target.metric, target.basis = metric, basis
    target.base_year, target.target_year = base_year, target_year
    target.reduction_pct = pct.quantize(Q3, rounding=ROUND_HALF_UP)
    target.set_by, target.updated_at = getattr(user, "email", None), utcnow()
    institution.base_year = base_year  # the monitoring views compare with it too
    db.session.add(target)
    db.session.flush()
    audit("institution.target.set", object_type="institution", object_id=institution.code,
          user=user, summary={"metric": metric, "basis": basis, "base_year": base_year,
                              "target_year": target_year, "reduction_pct": str(pct)})
    return target


def _year(raw: Any, key: str, label: str, errors: dict, lo: int, hi: int) -> int | None:
    try:
        y = int(str(raw).strip())
    except (TypeError, ValueError):
        errors[key] = f"请填写{label}（四位年份）"
        return None
    if not lo <= y <= hi:
        errors[key] = f"{label}应在 {lo} 至 {hi} 年之间"
        return None
    return y


def progress(*, institution: Institution, target: InstitutionTarget | None,
             totals: dict | None = None, year: int | None = None,
             prof: dict | None = None) -> dict[str, Any]:
    """Where the institution stands against its target in `year` (default: its latest
    year after the base year)."""
    base_year = target.base_year if target else institution.base_year
    out: dict[str, Any] = {"status": "no_target" if target is None else "no_data",
                           "base_year": base_year, "metric": target.metric if target else "co2"}
    if base_year is None:
        return out
    totals = totals if totals is not None else annual_totals([institution.id])
    idx = 0 if out["metric"] == "co2" else 1
    later = sorted(y for (iid, y) in totals if iid == institution.id and y > base_year)
    if year is None:
        year = later[-1] if later else None
    base_months = totals.get((institution.id, base_year), {})
    cur_months = totals.get((institution.id, year), {}) if year else {}
    months = set(cur_months) & set(base_months)
    if not months or year is None:
        return out
    base = sum((base_months[m][idx] for m in months), Decimal(0))
    actual = sum((cur_months[m][idx] for m in months), Decimal(0))
    basis = (target.basis or "total") if target else "total"
    out["basis"] = basis
    if basis != "total":  # per person or per m²: each year by its own denominator
        profs = profiles(institution=institution) if prof is None else prof
        dens = [_denominator(profs.get(y), basis) for y in (base_year, year)]
        if None in dens:
            out["missing_profile"] = [y for y, d in zip((base_year, year), dens,
                                                        strict=True) if d is None]
            return out
        base, actual = (base / dens[0]).quantize(Q6, ROUND_HALF_UP), \
            (actual / dens[1]).quantize(Q6, ROUND_HALF_UP)
    out.update(year=year, months=len(months), base=base, actual=actual,
               reduction=base - actual,
               reduction_pct=((base - actual) / base * 100).quantize(Q2, ROUND_HALF_UP)
               if base else None)
    if target is None:
        return out
    pct = target.reduction_pct / 100
    frac = min(Decimal(1), Decimal(year - base_year) / Decimal(target.target_year - base_year))
    allowed = (base * (1 - pct * frac)).quantize(Q6, ROUND_HALF_UP)
    goal = (base * (1 - pct)).quantize(Q6, ROUND_HALF_UP)
    status = "achieved" if actual <= goal else ("on_track" if actual <= allowed else "at_risk")
    out.update(status=status, allowed=allowed, goal=goal, target_year=target.target_year,
               target_pct=target.reduction_pct, gap=actual - allowed,
               expected_pct=(pct * frac * 100).quantize(Q2, ROUND_HALF_UP))
    return out


STATUS_LABELS = {"achieved": "已达目标", "on_track": "进度正常", "at_risk": "目标风险",
                 "no_data": "数据不足", "no_target": "未设目标"}


def profiles(*, institution: Institution) -> dict[int, InstitutionProfile]:
    return {p.year: p for p in db.session.scalars(select(InstitutionProfile).where(
        InstitutionProfile.institution_id == institution.id))}


def _denominator(p: InstitutionProfile | None, basis: str) -> Decimal | None:
    if p is None:
        return None
    value = Decimal(p.persons) if basis == "per_capita" else Decimal(p.floor_area)
    return value if value > 0 else None


def set_profile(*, institution: Institution, year: Any, data: Any,
                user: Any) -> InstitutionProfile:
    """A year's people (用能人数, persons) and floor area (建筑面积, m²), replaced."""
    if not isinstance(data, dict):
        raise EntryError({"body": "请求体必须是 JSON 对象"}, status=400)
    errors: dict[str, str] = {}
    y = _year(year, "year", "年份", errors, 2000, date.today().year)
    try:
        persons = int(str(data.get("persons")).strip())
        if not 1 <= persons <= 10_000_000:
            raise ValueError
    except (TypeError, ValueError):
        errors["persons"] = "用能人数必须是 1 至 10,000,000 之间的整数（人）"
        persons = None
    try:
        area = Decimal(str(data.get("floor_area")).strip().replace(",", ""))
        if not area.is_finite() or not Decimal(1) <= area <= Decimal("1e9"):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["floor_area"] = "建筑面积必须是 1 至 1,000,000,000 之间的数字（m²）"
        area = None
    if errors:
        from app.uow import refused

        refused("institution.profile.refused", object_type="institution",
                object_id=institution.code, user=user, summary={"fields": errors})
        raise EntryError(errors)
    row = profiles(institution=institution).get(y) or InstitutionProfile(
        institution_id=institution.id, year=y)
    row.persons, row.floor_area = persons, area.quantize(Q2, ROUND_HALF_UP)
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.flush()
    audit("institution.profile.set", object_type="institution", object_id=institution.code,
          user=user, summary={"year": y, "persons": persons, "floor_area": str(area)})
    return row
