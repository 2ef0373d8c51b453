"""Research institutes' data requests (R-6.5.1): a request names its purpose, indicators,
regions, industries and period; a platform administrator approves, returns or rejects it;
an approved request yields an aggregated, de-identified export built by a job, where every
published cell covers at least k enterprises and no enterprise dominates a cell
(`app/onboarding/disclosure.py`). Every step is audited; everything is scoped to the
institution (another institution gets 404)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select

from app.accounting.models import CarbonAccount
from app.audit.service import record as audit
from app.db import utcnow
from app.extensions import db
from app.identity.scope import DataScope, region_prefix, scoped
from app.jobs.outbox import enqueue
from app.onboarding import disclosure
from app.onboarding.models import REQUEST_STATUSES, DataRequest, ResearchExport
from app.onboarding.service import ApplicationError
from app.orgs.models import Industry, Region

#: indicator -> (Chinese name, unit); intensity is derived from the CO2 and value-added sums
INDICATORS = {"co2": ("二氧化碳排放量", "t"), "energy": ("综合能耗", "tce"),
              "value_added": ("工业增加值", "万元"), "intensity": ("碳排放强度", "tCO2/万元")}
SUMMED = {"co2": CarbonAccount.co2_total, "energy": CarbonAccount.energy_tce,
          "value_added": CarbonAccount.value_added}
LEVELS = {"province": ("省级", 2), "city": ("市级", 4), "county": ("县级", 6)}
MAX_MONTHS = 60


def settings() -> tuple[int, float]:
    """(k, dominance share) in force."""
    cfg = current_app.config
    return (int(cfg.get("CECP_RESEARCH_MIN_ENTERPRISES", 5)),
            float(cfg.get("CECP_RESEARCH_DOMINANCE", 0.5)))


def parse_codes(value: Any, field: str, errors: dict[str, str]) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace("，", ",").split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[field] = "应为代码列表"
        return []
    return [v.strip() for v in value]


def parse_period(value: Any, field: str, label: str, errors: dict[str, str]) -> int:
    text = str(value).replace("-", "") if isinstance(value, (int, str)) else ""
    if len(text) != 6 or not text.isdigit() or not 1 <= int(text[4:]) <= 12 \
            or not 2000 <= int(text[:4]) <= 2100:
        errors[field] = f"{label}应为年月，如 2025-01"
        return 0
    return int(text)


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """The clean request, or ApplicationError naming every bad field in Chinese."""
    errors: dict[str, str] = {}
    purpose = data.get("purpose")
    if not isinstance(purpose, str) or not 20 <= len(purpose.strip()) <= 2000 \
            or "\x00" in purpose:
        errors["purpose"] = "请说明研究目的（20–2000 字）"
    indicators = parse_codes(data.get("indicators"), "indicators", errors)
    unknown = [i for i in indicators if i not in INDICATORS]
    if "indicators" not in errors and (not indicators or unknown):
        errors["indicators"] = ("未知指标：" + "、".join(unknown[:5]) if unknown
                                else "请至少选择一项指标")
    regions = parse_codes(data.get("regions"), "regions", errors)
    if "regions" not in errors:
        known = set(db.session.scalars(select(Region.code).where(Region.code.in_(regions)))) \
            if regions else set()
        bad = [r for r in regions if r not in known]
        if not regions or bad or len(regions) > 40:
            errors["regions"] = ("不是有效的 GB/T 2260 行政区划代码：" + "、".join(bad[:5])
                                 if bad else "请选择 1–40 个地区")
    industries = parse_codes(data.get("industries") or [], "industries", errors)
    if "industries" not in errors and industries:
        known = set(db.session.scalars(select(Industry.code).where(
            Industry.code.in_(industries), Industry.level == "division")))
        bad = [i for i in industries if i not in known]
        if bad or len(industries) > 40:
            errors["industries"] = ("不是 GB/T 4754 行业大类代码：" + "、".join(bad[:5])
                                    if bad else "最多 40 个行业")
    level = data.get("region_level") or "city"
    if level not in LEVELS:
        errors["region_level"] = "汇总层级应为 province、city 或 county"
    start = parse_period(data.get("period_from"), "period_from", "起始月份", errors)
    end = parse_period(data.get("period_to"), "period_to", "截止月份", errors)
    if start and end:
        months = (end // 100 - start // 100) * 12 + end % 100 - start % 100 + 1
        if months < 1:
            errors["period_to"] = "截止月份不能早于起始月份"
        elif months > MAX_MONTHS:
            errors["period_to"] = f"期间最长 {MAX_MONTHS} 个月"
    if errors:
        raise ApplicationError(errors)
    return {"purpose": purpose.strip(), "indicators": indicators, "regions": sorted(set(regions)),
            "industries": sorted(set(industries)), "region_level": level,
            "period_from": start, "period_to": end}


def institution_of(scope: DataScope) -> str:
    if len(scope.institution) != 1:
        raise ApplicationError({"institution": "账号未归属唯一的科研机构"}, status=403,
                               message="只有科研机构成员可以提交数据申请")
    return scope.institution[0]


def create(*, data: dict[str, Any], scope: DataScope, user: Any) -> DataRequest:
    clean = validate(data)
    req = DataRequest(institution_code=institution_of(scope), requested_by_id=user.id,
                      purpose=clean["purpose"], indicators=",".join(clean["indicators"]),
                      regions=",".join(clean["regions"]),
                      industries=",".join(clean["industries"]),
                      region_level=clean["region_level"], period_from=clean["period_from"],
                      period_to=clean["period_to"])
    db.session.add(req)
    db.session.flush()
    audit("research.request", object_type="research_data_request", object_id=req.uid,
          summary={k: v for k, v in clean.items() if k != "purpose"})
    from app.onboarding import research_flow  # its approval runs as `research_data_request`

    research_flow.open_case(req, user=user)
    return req


def list_(*, scope: DataScope) -> list[DataRequest]:
    stmt = select(DataRequest).order_by(DataRequest.id.desc())
    return list(db.session.scalars(scoped(stmt, DataRequest, scope)))


def get(*, uid: str, scope: DataScope) -> DataRequest | None:
    stmt = select(DataRequest).where(DataRequest.uid == uid)
    return db.session.scalar(scoped(stmt, DataRequest, scope))


def decision_errors(*, req: DataRequest, decision: str, reason: str | None) -> None:
    """approve | return | reject (a reason for the last two); 409 once decided."""
    reason = (reason or "").strip()
    if decision not in ("approve", "return", "reject"):
        raise ApplicationError({"decision": "应为 approve、return 或 reject"})
    if decision != "approve" and not 2 <= len(reason) <= 2000:
        raise ApplicationError({"reason": "退回或驳回须说明理由（2–2000 字）"})
    if req.status != "submitted":
        raise ApplicationError({"status": f"申请当前状态为“{REQUEST_STATUSES[req.status]}”，"
                                          "不能再审批"}, status=409)


def decide(*, req: DataRequest, decision: str, reason: str | None, actor: Any) -> DataRequest:
    """The decision's record (run by the review task of `research_data_request`; the
    export is the process's next step, `enqueue_export`)."""
    decision_errors(req=req, decision=decision, reason=reason)
    reason = (reason or "").strip()
    req.status = {"approve": "approved", "return": "returned", "reject": "rejected"}[decision]
    req.decision_reason = reason or None
    req.decided_by = getattr(actor, "email", None)
    req.decided_at = utcnow()
    audit(f"research.{decision}", object_type="research_data_request", object_id=req.uid,
          user=actor, summary={"reason": reason or None})
    return req


def enqueue_export(*, req: DataRequest) -> None:
    """The `research.export` job, once per request (keyed)."""
    enqueue("research.export", key=f"research.export:{req.uid}", request_id=req.id)


def resubmit(*, req: DataRequest, data: dict[str, Any]) -> DataRequest:
    """A returned request, changed and sent again."""
    if req.status != "returned":
        raise ApplicationError({"status": "只有被退回的申请可以修改后重新提交"}, status=409)
    clean = validate(data)
    req.purpose, req.indicators = clean["purpose"], ",".join(clean["indicators"])
    req.regions, req.industries = ",".join(clean["regions"]), ",".join(clean["industries"])
    req.region_level = clean["region_level"]
    req.period_from, req.period_to = clean["period_from"], clean["period_to"]
    req.status, req.decision_reason = "submitted", None
    audit("research.resubmit", object_type="research_data_request", object_id=req.uid)
    return req


# ---------------------------------------------------------------- the export (a job)


def _per_enterprise(req: DataRequest) -> list[Any]:
    """One row per enterprise and cell: the enterprise's sums over the period."""
    width = LEVELS[req.region_level][1]
    A = CarbonAccount
    region = func.substr(A.region_code, 1, width)
    division = func.substr(A.industry_code, 1, 2)
    stmt = select(A.enterprise_id, region.label("region"), division.label("industry"),
                  A.year, *[func.sum(col).label(name) for name, col in SUMMED.items()]).where(
        A.is_current.is_(True), A.period.between(req.period_from, req.period_to),
        or_(*[A.region_code.like(region_prefix(code) + "%")  # validated digits: no escaping
              for code in req.regions.split(",")]))
    if req.industries:
        stmt = stmt.where(division.in_(req.industries.split(",")))
    stmt = stmt.group_by(A.enterprise_id, region, division, A.year)
    return db.session.execute(stmt).all()


def build_export(*, request_id: int) -> ResearchExport | None:
    """(Re)build the export of an approved request; idempotent (replaces its own row)."""
    req = db.session.get(DataRequest, request_id)
    if req is None or req.status not in ("approved", "ready"):
        return None
    k, share = settings()
    cells: dict[tuple, disclosure.Cell] = {}
    for row in _per_enterprise(req):
        key = (row.region, row.industry or "", row.year)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = disclosure.Cell(key, 0, defaultdict(Decimal),
                                                defaultdict(Decimal))
        cell.enterprises += 1
        for name in SUMMED:
            value = Decimal(getattr(row, name) or 0)
            cell.totals[name] += value
            cell.largest[name] = max(cell.largest[name], abs(value))
    ordered = sorted(cells.values(), key=lambda c: c.key)
    disclosure.protect(ordered, k=k, share=share)
    body = _body(req, ordered, k=k, share=share)
    db.session.query(ResearchExport).filter_by(request_id=req.id).delete()
    export = ResearchExport(request_id=req.id, min_enterprises=k, dominance=str(share),
                            cells=len(ordered),
                            suppressed=sum(1 for c in ordered if c.suppressed),
                            body=json.dumps(body, ensure_ascii=False), created_at=utcnow())
    db.session.add(export)
    req.status = "ready"
    audit("research.export_built", object_type="research_data_request", object_id=req.uid,
          email="system", summary={"cells": export.cells, "suppressed": export.suppressed,
                                   "k": k, "dominance": share})
    return export


def _body(req: DataRequest, cells: list[disclosure.Cell], *, k: int, share: float) -> dict:
    wanted = req.indicators.split(",")
    regions = dict(db.session.execute(select(Region.code, Region.name)).all())
    industries = dict(db.session.execute(select(Industry.code, Industry.name).where(
        Industry.level == "division")).all())
    rows = []
    for c in cells:
        region, industry, year = c.key
        code6 = region.ljust(6, "0")
        row: dict[str, Any] = {"region_code": code6, "region_name": regions.get(code6, code6),
                               "industry_code": industry,
                               "industry_name": industries.get(industry, "未登记行业"),
                               "year": year, "suppressed": c.suppressed is not None,
                               "reason": disclosure.reason(c, k=k, share=share),
                               "enterprises": None if c.suppressed else c.enterprises}
        for name in wanted:
            if c.suppressed:
                row[name] = None
            elif name == "intensity":
                va = c.totals["value_added"]
                row[name] = str((c.totals["co2"] / va).quantize(Decimal("0.000001"),
                                                                ROUND_HALF_UP)) if va > 0 else None
            else:
                row[name] = str(c.totals[name].quantize(Decimal("0.01"), ROUND_HALF_UP))
        rows.append(row)
    return {"indicators": {n: {"name": INDICATORS[n][0], "unit": INDICATORS[n][1]}
                           for n in wanted},
            "rules": {"min_enterprises": k, "dominance": share},
            "period": [req.period_from, req.period_to], "region_level": req.region_level,
            "rows": rows}


def get_export(*, req: DataRequest) -> ResearchExport | None:
    return db.session.scalar(select(ResearchExport).where(ResearchExport.request_id == req.id))


def _safe(value: Any) -> Any:
    """A spreadsheet never runs a cell: text starting with = + - @ gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(*, req: DataRequest, export: ResearchExport) -> bytes:
    body = json.loads(export.body)
    names = list(body["indicators"])
    heads = ["行政区划代码", "地区", "行业代码", "行业", "年份", "企业数"] + [
        f"{v['name']}（{v['unit']}）" for v in body["indicators"].values()] + ["说明"]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(heads)
    for r in body["rows"]:
        w.writerow([_safe(x) for x in [r["region_code"], r["region_name"], r["industry_code"],
                                       r["industry_name"], r["year"], r["enterprises"]]
                    + [r[n] for n in names] + [r["reason"] or ""]])
    audit("research.export_download", object_type="research_data_request", object_id=req.uid,
          summary={"cells": export.cells})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_json(req: DataRequest, export: ResearchExport | None = None) -> dict[str, Any]:
    out = {"id": req.uid, "institution": req.institution_code, "case_id": req.case_id,
           "purpose": req.purpose,
           "indicators": req.indicators.split(","), "regions": req.regions.split(","),
           "industries": [i for i in req.industries.split(",") if i],
           "region_level": req.region_level,
           "period_from": f"{req.period_from // 100}-{req.period_from % 100:02d}",
           "period_to": f"{req.period_to // 100}-{req.period_to % 100:02d}",
           "status": req.status, "status_label": REQUEST_STATUSES[req.status],
           "decision_reason": req.decision_reason,
           "created_at": req.created_at.isoformat() + "Z" if req.created_at else None}
    if export is not None:
        out["export"] = {"cells": export.cells, "suppressed": export.suppressed,
                         "min_enterprises": export.min_enterprises,
                         "dominance": float(export.dominance)}
    return out
