"""The enterprise carbon account (R-6.2.1): one dictionary that the page and the API share."""

from __future__ import annotations

from flask import url_for

from app.accounting import codes, indicators, service
from app.accounting.models import CarbonAccount, CarbonCode
from app.accounting.periods import Period
from app.orgs.models import Enterprise


def code_dict(code: CarbonCode | None, *, with_token: bool = False) -> dict | None:
    if code is None:
        return None
    out = {"id": code.id, "period": code.period_key, "scheme_id": code.scheme_id,
           "scheme_version": code.scheme_version, "basis": code.basis,
           "k_value": code.k_value, "intensity": code.intensity,
           "benchmark_intensity": code.benchmark_intensity, "peers": code.peers,
           "area_code": code.area_code, "industry_code": code.industry_code,
           "graded": code.graded, "grade": code.grade, "grade_label": code.grade_label,
           "colour": code.colour, "reason": code.reason, "issued_at": code.issued_at,
           "is_current": code.is_current, "estimated_months": code.estimated_months}
    if with_token:
        token = codes.token_for(code)
        out["verify_url"] = url_for("accounting.verify_code", token=token, _external=True)
        out["qr_url"] = url_for("accounting.code_qr", uscc=code.enterprise.uscc,
                                code_id=code.id)
    return out


def build(*, enterprise: Enterprise, year: int, month: int | None = None,
          with_token: bool = False) -> dict:
    """Figures of one enterprise for a month (with the derivation) or a whole year."""
    period = Period("month", year, month) if month else Period("year", year)
    summ = indicators.summary(level="enterprise", code=enterprise.uscc, period=period,
                              scope=None)
    acc = service.current(enterprise_id=enterprise.id, period=year * 100 + month) \
        if month else None
    k_scheme, tier_scheme = codes.DEFAULT_SCHEMES
    out = {
        "enterprise": {"uscc": enterprise.uscc, "name": enterprise.name,
                       "region_code": enterprise.region_code,
                       "industry_code": enterprise.industry_code,
                       "industry_name": enterprise.industry.name if enterprise.industry
                       else None},
        "period": period.key, "period_label": period.label,
        "energy_tce": summ["energy_tce"], "co2_total": summ["co2"],
        "co2_biomass": summ["co2_biomass"], "gross_output": summ["gross_output"],
        "value_added": summ["value_added"], "intensity": summ["intensity"],
        "energy_per_output": summ["energy_per_output"],
        "months_reported": summ["enterprise_months"],
        "by_energy": service.by_energy(enterprise_id=enterprise.id, first=period.first,
                                       last=period.last),
        "code": code_dict(codes.current_for(enterprise_id=enterprise.id,
                                            period_key=period.key, scheme_id=k_scheme),
                          with_token=with_token),
        "tier": code_dict(codes.current_for(enterprise_id=enterprise.id,
                                            period_key=period.key, scheme_id=tier_scheme)),
        "by_source": None, "derivation": None, "versions": [],
    }
    if acc is not None:
        out["by_source"] = {
            "combustion": acc.co2_combustion, "process": acc.co2_process,
            "electricity": acc.co2_electricity, "heat": acc.co2_heat,
            "electricity_exported": acc.co2_electricity_exported,
            "heat_exported": acc.co2_heat_exported, "biomass": acc.co2_biomass}
        out["derivation"] = service.derivation(acc)
        out["status"] = acc.status
        out["versions"] = [version_dict(a) for a in service.history(
            enterprise_id=enterprise.id, period=acc.period)]
    return out


def version_dict(a: CarbonAccount) -> dict:
    """One account version as the API shows it: number, freeze state, restatement link."""
    return {"id": a.id, "period": a.period_label, "version": a.version,
            "co2_total": a.co2_total, "energy_tce": a.energy_tce, "is_current": a.is_current,
            "computed_at": a.computed_at, "reason": a.reason, "method": a.method,
            "status": a.status, "status_label": a.status_label, "frozen_at": a.frozen_at,
            "frozen_by": a.frozen_by, "restates_id": a.restates_id,
            "pending_reason": a.pending_reason}


def position(*, enterprise: Enterprise, period_key: str,
             code: CarbonCode | None = None) -> dict | None:
    """Rank of the enterprise among its industry peers (by intensity) for a period; `code`
    is its current code of that period when the caller already holds it."""
    from sqlalchemy import select

    from app.extensions import db

    mine = code or codes.current_for(enterprise_id=enterprise.id, period_key=period_key)
    if mine is None or mine.industry_code is None or mine.intensity is None:
        return None
    peers = list(db.session.scalars(select(CarbonCode.intensity).where(
        CarbonCode.period_key == period_key, CarbonCode.scheme_id == mine.scheme_id,
        CarbonCode.is_current.is_(True), CarbonCode.area_code == mine.area_code,
        CarbonCode.industry_code == mine.industry_code, CarbonCode.intensity.is_not(None))))
    better = sum(1 for p in peers if p < mine.intensity)
    return {"rank": better + 1, "of": len(peers), "industry_code": mine.industry_code,
            "area_code": mine.area_code, "benchmark_intensity": mine.benchmark_intensity}
