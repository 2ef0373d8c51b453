"""Everything an enterprise-year report shows, read through the accounting service (and the
account dictionary it shares with the pages), never its tables: figures by source and
month, per-source activity × parameters, factor sources, the carbon efficiency code, the
previous year, data sources per month, the self-check, the verification status.

The result is plain data (dicts, Decimals, strings): `reports.pdf` only lays it out, and
`fingerprint` turns the inputs into the document's `source_key` (the same inputs never
build the same report twice).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.accounting import account as accounts_view
from app.accounting import codes
from app.accounting import service as accounting
from app.energy.models import EnergyRecord
from app.extensions import db
from app.identity.scope import DataScope
from app.orgs.models import Enterprise, Region

ALL = DataScope(all=True)

#: the sources of GB/T 32150-2015 in report order (biomass reported apart, outside E)
SOURCES = ("combustion", "process", "electricity", "heat", "electricity_exported", "heat_exported")
SOURCE_LABELS = {
    "combustion": "化石燃料燃烧",
    "process": "工业生产过程",
    "electricity": "净购入电力（购入）",
    "heat": "净购入热力（购入）",
    "electricity_exported": "输出电力（扣减）",
    "heat_exported": "输出热力（扣减）",
    "biomass": "生物质燃烧（单列，不计入总量）",
}
RECORD_SOURCES = {
    "form": "企业表单填报",
    "import": "文件导入",
    "api": "接口报送",
    "rest": "数据交换接口",
    "soap": "Web Service",
    "meter": "计量表汇总",
    "power": "电力系统",
    "file": "文件交换",
    "db": "中间库",
}
ORIGINS = {
    "default": "缺省值",
    "measured": "实测值",
    "given": "企业提供",
    "library": "因子库",
    "factor": "因子库",
}

#: the industry guideline used beside GB/T 32150-2015, by GB/T 4754-2017 prefix
GUIDELINES = (
    ("3011", "GB/T 32151.8-2015《温室气体排放核算与报告要求 第8部分：水泥生产企业》"),
    ("3041", "GB/T 32151.7-2015《温室气体排放核算与报告要求 第7部分：平板玻璃生产企业》"),
    ("31", "GB/T 32151.5-2015《温室气体排放核算与报告要求 第5部分：钢铁生产企业》"),
    ("3216", "GB/T 32151.4-2015《温室气体排放核算与报告要求 第4部分：铝冶炼企业》"),
    ("4411", "GB/T 32151.1-2015《温室气体排放核算与报告要求 第1部分：发电企业》"),
    ("4412", "GB/T 32151.1-2015《温室气体排放核算与报告要求 第1部分：发电企业》"),
    ("2511", "GB/T 32151.10-2015《温室气体排放核算与报告要求 第10部分：化工生产企业》"),
    ("26", "GB/T 32151.10-2015《温室气体排放核算与报告要求 第10部分：化工生产企业》"),
    ("22", "GB/T 32151.? 造纸和纸制品生产企业（待确认部分编号）"),
)
GENERIC_GUIDELINE = "GB/T 32150-2015《工业企业温室气体排放核算和报告通则》（未找到适用的行业标准）"


def guideline(industry_code: str | None) -> str:
    code = industry_code or ""
    for prefix, name in GUIDELINES:
        if code.startswith(prefix) and "?" not in name:
            return name
    return GENERIC_GUIDELINE


def region_path(code: str | None) -> str:
    """Full GB/T 2260 name: 浙江省 湖州市 (a name, never only the code)."""
    names: list[str] = []
    seen = 0
    while code and seen < 4:
        row = db.session.get(Region, code)
        if row is None:
            break
        names.append(row.name)
        code, seen = row.parent_code, seen + 1
    return " ".join(reversed(names)) or "—"


def _dec(x: Any) -> Decimal:
    return Decimal(x) if x is not None else Decimal(0)


def _month_rows(enterprise: Enterprise, year: int) -> list[Any]:
    """Current account versions of the year (the caller checked the enterprise's scope)."""
    rows = db.session.scalars(
        accounting.get_all(scope=ALL, enterprise_id=enterprise.id, year=year)
    ).all()
    return sorted(rows, key=lambda a: a.period)


def _monthly(accs: list[Any]) -> list[dict[str, Any]]:
    out = []
    for a in accs:
        out.append(
            {
                "month": a.month,
                "period": a.period,
                "version": a.version,
                "status": a.status,
                "status_label": a.status_label,
                "co2_total": _dec(a.co2_total),
                "energy_tce": _dec(a.energy_tce),
                "co2_biomass": _dec(a.co2_biomass),
                "by_source": {s: _dec(getattr(a, f"co2_{s}")) for s in SOURCES},
                "value_added": a.value_added,
                "gross_output": a.gross_output,
            }
        )
    return out


def _sum(values: list[Any]) -> Decimal | None:
    present = [Decimal(v) for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def _totals(monthly: list[dict[str, Any]]) -> dict[str, Any]:
    """Year totals from the months; ratios by the accounting service's one rounding rule."""
    co2 = sum((m["co2_total"] for m in monthly), Decimal(0))
    tce = sum((m["energy_tce"] for m in monthly), Decimal(0))
    gross = _sum([m["gross_output"] for m in monthly])
    va = _sum([m["value_added"] for m in monthly])
    return {
        "co2_total": co2,
        "energy_tce": tce,
        "gross_output": gross,
        "value_added": va,
        "co2_biomass": sum((m["co2_biomass"] for m in monthly), Decimal(0)),
        "intensity": accounting.ratio(co2, va),
        "energy_per_output": accounting.ratio(tce, gross),
        "months": len(monthly),
    }


def _codes(enterprise: Enterprise, year: int) -> dict[str, Any]:
    """The year's carbon efficiency code (K scheme) and tier, as the account page has them."""
    k_scheme, tier_scheme = codes.DEFAULT_SCHEMES
    return {
        name: accounts_view.code_dict(
            codes.current_for(enterprise_id=enterprise.id, period_key=str(year), scheme_id=scheme)
        )
        for name, scheme in (("code", k_scheme), ("tier", tier_scheme))
    }


def _source_tables(derivations: list[dict]) -> tuple[dict, list[dict]]:
    """Per source: activity × parameters = emissions, merged over months by identical
    parameters; and the factor versions used (with their sources)."""
    tables: dict[str, OrderedDict] = {s: OrderedDict() for s in (*SOURCES, "biomass")}
    factors: dict[int, dict] = {}
    for der in derivations:
        for ln in der["lines"]:
            bucket = ln["bucket"]
            if bucket not in tables:
                continue
            f = ln["factor"]
            if f is not None:
                factors[f["id"]] = f
            key = (
                ln["item"],
                ln["unit"],
                ln["ncv"],
                ln["carbon_content"],
                ln["oxidation_rate"],
                ln["ef"],
                ln["parameter_origin"],
                f["id"] if f else None,
            )
            row = tables[bucket].get(key)
            if row is None:
                origin = ORIGINS.get(ln["parameter_origin"] or "", ln["parameter_origin"])
                if f is not None:
                    origin = (
                        f"{origin or '因子库'}：{f['code']} 第 {f['version']} 版（{f['source']}）"
                    )
                row = tables[bucket][key] = {
                    "name": ln["name"],
                    "unit": ln["unit"],
                    "ncv": ln["ncv"],
                    "carbon_content": ln["carbon_content"],
                    "oxidation_rate": ln["oxidation_rate"],
                    "ef": ln["ef"],
                    "origin": origin or "—",
                    "amount": Decimal(0),
                    "co2": Decimal(0),
                    "months": 0,
                }
            row["amount"] += _dec(ln["amount"])
            row["co2"] += _dec(ln["co2"])
            row["months"] += 1
    return (
        {b: list(t.values()) for b, t in tables.items() if t},
        sorted(factors.values(), key=lambda f: (f["code"], f["version"])),
    )


def _record_sources(enterprise: Enterprise, year: int) -> dict[int, dict]:
    rows = db.session.execute(
        select(
            EnergyRecord.month, EnergyRecord.source, EnergyRecord.revision, EnergyRecord.updated_at
        ).where(EnergyRecord.enterprise_id == enterprise.id, EnergyRecord.year == year)
    ).all()
    return {
        m: {"source": RECORD_SOURCES.get(s, s), "revision": r, "updated_at": u}
        for m, s, r, u in rows
    }


def _selfcheck(enterprise: Enterprise, year: int) -> dict[str, Any]:
    from app.cases import selfcheck

    try:
        result = selfcheck.run(enterprise=enterprise, year=year)
    except Exception as exc:  # a check provider down must not stop the report
        return {
            "passed": None,
            "errors": [],
            "warnings": [],
            "notes": [{"message": f"自检未能运行：{exc}"}],
        }
    return {k: result.get(k) for k in ("passed", "errors", "warnings", "notes", "checked_at")}


def _verification(enterprise: Enterprise, year: int, monthly: list[dict]) -> dict[str, Any]:
    from app.documents import service as documents

    statements = [
        d
        for d in documents.list_(
            scope=documents.ALL,
            subject_type="enterprise",
            subject_id=enterprise.uscc,
            kind="verification_statement",
            period=str(year),
        )
        if d.status == "ready" and not d.superseded_by
    ]
    verified = sum(1 for m in monthly if m["status"] == "verified")
    if statements:
        s = statements[0]
        return {
            "verified": True,
            "label": f"经第三方核查（{s.issuer}，核查声明 {s.id}）",
            "statement_id": s.id,
        }
    if monthly and verified == len(monthly):
        return {"verified": True, "label": "核算结果已标记为经核查", "statement_id": None}
    return {"verified": False, "label": "尚未经第三方核查", "statement_id": None}


def collect(*, enterprise: Enterprise, year: int, with_selfcheck: bool = True) -> dict[str, Any]:
    """The whole report's data for one enterprise-year; ValueError when there is nothing
    to report (no accounts that year)."""
    accs = _month_rows(enterprise, year)
    if not accs:
        raise ValueError(f"{enterprise.name} {year} 年没有核算结果，无法生成报告")
    monthly = _monthly(accs)
    totals = _totals(monthly)
    by_source = {s: sum((m["by_source"][s] for m in monthly), Decimal(0)) for s in SOURCES}
    derivations = [accounting.derivation(a) for a in accs]
    tables, factors = _source_tables(derivations)
    prev = _monthly(_month_rows(enterprise, year - 1))
    data = {
        "year": year,
        "period": f"{year}-01-01 至 {year}-12-31",
        "enterprise": {
            "name": enterprise.name,
            "uscc": enterprise.uscc,
            "industry_code": enterprise.industry_code,
            "industry_name": enterprise.industry.name if enterprise.industry else "—",
            "region_code": enterprise.region_code,
            "region_name": region_path(enterprise.region_code),
        },
        "guideline": guideline(enterprise.industry_code),
        "totals": totals,
        "by_source": by_source,
        "monthly": monthly,
        "tables": tables,
        "factors": factors,
        **_codes(enterprise, year),
        "previous": None
        if not prev
        else {
            "year": year - 1,
            **_totals(prev),
            "by_source": {s: sum((m["by_source"][s] for m in prev), Decimal(0)) for s in SOURCES},
        },
        "record_sources": _record_sources(enterprise, year),
        "selfcheck": _selfcheck(enterprise, year) if with_selfcheck else None,
        "verification": _verification(enterprise, year, monthly),
        "derivations": [
            {
                "period": f"{year}-{a.month:02d}",
                "version": a.version,
                "formula": d["formula"],
                "lines": [
                    (ln["name"], ln["bucket_label"], ln["formula"], ln["parameter_origin"])
                    for ln in d["lines"]
                ],
            }
            for a, d in zip(accs, derivations, strict=True)
        ],
        "accounts": [(a.id, a.version, a.status) for a in accs],
    }
    return data


def fingerprint(*, enterprise: Enterprise, year: int, trigger: str) -> str:
    """A cheap key of a report's inputs: the current account versions and states of
    the year and the year before, and why it is made (a publication is its own report)."""
    rows = []
    for y in (year, year - 1):
        rows += [
            (a.id, a.version, a.status)
            for a in db.session.scalars(
                accounting.get_all(scope=ALL, enterprise_id=enterprise.id, year=y)
            )
        ]
    text = f"{enterprise.uscc}|{year}|{trigger}|{sorted(rows)}"
    return hashlib.sha256(text.encode()).hexdigest()[:64]
