"""The rules of verification that are plain functions of data: when it is required, which
bodies may be assigned, the reported figures by source and month, the sampling plan the
platform proposes, and the materiality of a difference.

Thresholds and their sources: the key-emitter threshold (`CECP_VERIFICATION_KEY_EMITTER_TCO2`,
26,000 t CO2e, 《碳排放权交易管理办法（试行）》第八条); the materiality threshold defaults to
5 % of the reported total (ISO 14064-3 leaves it to the verifier; 5 % is the issue's default
and the common practice for reasonable assurance); the sampling rule (sources under 5 % of
the total may be sampled, at least 30 % of their monthly records checked) is platform
policy, set in `SAMPLING_SHARE` / `SAMPLING_MIN_FRACTION`.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select

from app.accounting.models import CarbonAccount
from app.extensions import db
from app.orgs.models import Enterprise, VerificationBody
from app.verification.models import BodyConflict, Verification

#: emission sources as the carbon account holds them (column, Chinese name)
SOURCES = (
    ("combustion", "co2_combustion", "化石燃料燃烧"),
    ("process", "co2_process", "工业生产过程"),
    ("electricity", "co2_electricity", "净购入电力"),
    ("heat", "co2_heat", "净购入热力"),
)
SOURCE_LABELS = {key: label for key, _, label in SOURCES}
DEFAULT_MATERIALITY = Decimal("5")
SAMPLING_SHARE = Decimal("0.05")
SAMPLING_MIN_FRACTION = Decimal("0.30")
LEVELS = {"reasonable": "合理保证", "limited": "有限保证"}
OPINIONS = {"unqualified": "无保留意见", "qualified": "保留意见", "adverse": "否定意见"}
RISKS = {"low": "低", "medium": "中", "high": "高"}


def key_emitter_threshold() -> Decimal:
    return Decimal(str(current_app.config.get("CECP_VERIFICATION_KEY_EMITTER_TCO2", "26000")))


def reported(*, enterprise: Enterprise, year: int) -> dict[str, Any]:
    """Current accounts of the year by source and month: {"sources": {key: {"total",
    "months": {m: value}}}, "total", "account_versions"} (Decimals as text)."""
    rows = db.session.scalars(
        select(CarbonAccount)
        .where(
            CarbonAccount.enterprise_id == enterprise.id,
            CarbonAccount.year == year,
            CarbonAccount.is_current.is_(True),
        )
        .order_by(CarbonAccount.month)
    ).all()
    sources: dict[str, Any] = {}
    total = Decimal(0)
    for key, col, _ in SOURCES:
        months = {str(a.month): Decimal(getattr(a, col) or 0) for a in rows}
        value = sum(months.values(), Decimal(0))
        total += value
        sources[key] = {"total": str(value), "months": {m: str(v) for m, v in months.items()}}
    return {
        "sources": sources,
        "total": str(total),
        "accounts": {str(a.month): a.version for a in rows},
    }


# one statement per 初审 (it runs in every review step): the flag and the year's total
_YEAR_TOTAL = (
    select(CarbonAccount.co2_total)
    .where(
        CarbonAccount.enterprise_id == Enterprise.id,
        CarbonAccount.year == bindparam("b_year"),
        CarbonAccount.is_current.is_(True),
    )
    .with_only_columns(func.coalesce(func.sum(CarbonAccount.co2_total), 0))
    .scalar_subquery()
)
_EMITTER = select(Enterprise.key_emitter, _YEAR_TOTAL).where(Enterprise.uscc == bindparam("b_uscc"))


def required(*, uscc: str, year: int, asked: bool) -> str | None:
    """Why verification is required, or None: the reviewer asked for it, the enterprise is
    flagged a key emitter, or its yearly total reaches the key-emitter threshold."""
    if asked:
        return "初审要求第三方核查"
    row = db.session.execute(_EMITTER, {"b_uscc": uscc, "b_year": year}).first()
    if row is None:
        return None
    if row[0]:
        return "重点排放单位（企业标记）"
    total = Decimal(row[1] or 0)
    limit = key_emitter_threshold()
    if total >= limit:
        return (
            f"年度排放 {total:,.0f} tCO2 达到重点排放单位门槛 {limit:,.0f} tCO2"
            "（《碳排放权交易管理办法（试行）》第八条）"
        )
    return None


def in_accreditation_scope(body: VerificationBody, industry_code: str | None) -> bool:
    scope = [p.strip() for p in (body.accreditation_scope or "").split(",") if p.strip()]
    if "*" in scope:
        return True
    return bool(industry_code) and any(industry_code.startswith(p) for p in scope)


def consecutive_years(*, body_code: str, enterprise_uscc: str, year: int) -> int:
    """How many years right before `year` the body verified the enterprise (completed)."""
    years = set(
        db.session.scalars(
            select(Verification.year).where(
                Verification.body_code == body_code,
                Verification.enterprise_uscc == enterprise_uscc,
                Verification.status == "completed",
                Verification.year < year,
            )
        )
    )
    count = 0
    while (year - count - 1) in years:
        count += 1
    return count


def assignment_refusal(
    *, body: VerificationBody | None, enterprise: Enterprise, year: int, today: date | None = None
) -> str | None:
    """Why the body may not verify this enterprise-year (Chinese), or None."""
    if body is None:
        return "核查机构不存在"
    today = today or date.today()
    if not body.accreditation or (body.accredited_until and body.accredited_until < today):
        return f"{body.name}没有有效的核查资质"
    if not in_accreditation_scope(body, enterprise.industry_code):
        return f"{enterprise.industry_code or '该'}行业不在{body.name}的认可范围内"
    conflict = db.session.scalar(
        select(BodyConflict).where(
            BodyConflict.body_code == body.code, BodyConflict.enterprise_uscc == enterprise.uscc
        )
    )
    if conflict is not None:
        return f"{body.name}已声明与该企业存在利益冲突：{conflict.reason}"
    limit = int(current_app.config.get("CECP_VERIFICATION_MAX_CONSECUTIVE_YEARS", 3))
    run = consecutive_years(body_code=body.code, enterprise_uscc=enterprise.uscc, year=year)
    if run >= limit:
        return f"{body.name}已连续 {run} 年核查该企业，超过连续核查上限 {limit} 年"
    return None


def propose_sampling(figures: dict[str, Any]) -> dict[str, Any]:
    """Sources under 5 % of the total may be sampled: the highest months first until at
    least 30 % of the source's monthly records; every other source: all its months."""
    total = Decimal(figures.get("total") or 0)
    plan: dict[str, Any] = {}
    for key, _, _label in SOURCES:
        src = figures["sources"].get(key, {"total": "0", "months": {}})
        months = {int(m): Decimal(v) for m, v in src["months"].items()}
        with_records = [m for m, v in months.items() if v != 0]
        if not with_records:
            plan[key] = {"sampled": False, "months": [], "share": "0"}
            continue
        share = Decimal(src["total"]) / total if total else Decimal(1)
        if share < SAMPLING_SHARE:
            n = max(1, math.ceil(len(with_records) * SAMPLING_MIN_FRACTION))
            chosen = sorted(sorted(with_records, key=lambda m: (-months[m], m))[:n])
            plan[key] = {
                "sampled": True,
                "months": chosen,
                "share": str(share.quantize(Decimal("0.0001"))),
            }
        else:
            plan[key] = {
                "sampled": False,
                "months": sorted(with_records),
                "share": str(share.quantize(Decimal("0.0001"))),
            }
    return plan


def differences(
    *, reported_sources: dict[str, Any], verified: dict[str, Decimal], materiality_pct: Decimal
) -> dict[str, Any]:
    """Verified beside reported by source, the total difference and whether it is material
    (|verified − reported| / reported > materiality)."""
    rows, rep_total, ver_total = [], Decimal(0), Decimal(0)
    for key, _, label in SOURCES:
        rep = Decimal(reported_sources.get(key, {}).get("total") or 0)
        ver = verified.get(key, rep)
        rep_total += rep
        ver_total += ver
        rows.append(
            {
                "source": key,
                "label": label,
                "reported": str(rep),
                "verified": str(ver),
                "difference": str(ver - rep),
            }
        )
    diff = ver_total - rep_total
    ratio = (abs(diff) / rep_total * 100) if rep_total else (Decimal(100) if diff else 0)
    ratio = Decimal(ratio).quantize(Decimal("0.01"))
    return {
        "rows": rows,
        "reported_total": str(rep_total),
        "verified_total": str(ver_total),
        "difference": str(diff),
        "difference_pct": str(ratio),
        "materiality_pct": str(materiality_pct),
        "material": ratio > materiality_pct,
    }
