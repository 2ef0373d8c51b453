"""Research model registration (R-6.5.1): an institute gives a model as parameters — CO2 of
an enterprise-month = a + b · its purchased electricity (MWh), with (a, b) per GB/T 4754
industry division and an optional default `*` — and the platform runs it as a job against
the current carbon accounts of a region and period, and compares it with the accounted
(GB/T 32150) figures: per division and overall, MAPE, bias and the largest error, in % of
the accounted CO2.

The institute never sees an enterprise: a division's metrics are withheld when it covers
fewer than k enterprises (the same `CECP_RESEARCH_MIN_ENTERPRISES` as the exports), and the
largest error is reported as a percentage without saying whose it is.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from app.accounting.models import CarbonAccount
from app.audit.service import record as audit
from app.db import utcnow
from app.extensions import db
from app.identity.scope import DataScope, region_prefix, scoped
from app.jobs.outbox import enqueue
from app.onboarding import research
from app.onboarding.models import ResearchModel
from app.onboarding.service import ApplicationError
from app.orgs.models import Industry, Region

STATUSES = {"queued": "排队中", "done": "已完成", "failed": "失败"}
MAX_B = 10.0  # tCO2/MWh: far above any grid or process factor; beyond it is a unit mistake


def _parameters(value: Any, errors: dict[str, str]) -> dict[str, dict[str, float]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            errors["parameters"] = "参数应为 JSON 对象，如 {\"30\": {\"a\": 0, \"b\": 0.8}}"
            return {}
    if not isinstance(value, dict) or not 1 <= len(value) <= 100:
        errors["parameters"] = "参数应为 1–100 个行业大类的 {a, b}"
        return {}
    known = set(db.session.scalars(select(Industry.code).where(
        Industry.level == "division", Industry.code.in_(list(value)))))
    out = {}
    for code, pair in value.items():
        if code != "*" and code not in known:
            errors["parameters"] = f"“{str(code)[:10]}”不是 GB/T 4754 行业大类代码"
            return {}
        ok = isinstance(pair, dict) and all(
            isinstance(pair.get(k), (int, float)) and not isinstance(pair.get(k), bool)
            for k in ("a", "b"))
        if not ok or not 0 <= pair["b"] <= MAX_B or not 0 <= pair["a"] <= 1e9:
            errors["parameters"] = (f"行业 {code} 的参数应为 a（tCO2/月，≥0）和 b"
                                    f"（tCO2/MWh，0–{MAX_B:g}）")
            return {}
        out[code] = {"a": float(pair["a"]), "b": float(pair["b"])}
    return out


def create(*, data: dict[str, Any], scope: DataScope, user: Any) -> ResearchModel:
    """Register a model and queue its run."""
    if not user.has_permission("research.request"):
        raise ApplicationError({"role": "只有科研机构成员可以登记模型"}, status=403,
                               message="只有科研机构成员可以登记模型")
    errors: dict[str, str] = {}
    name = data.get("name")
    if not isinstance(name, str) or not 2 <= len(name.strip()) <= 100 or "\x00" in name:
        errors["name"] = "模型名称应为 2–100 字"
    params = _parameters(data.get("parameters"), errors)
    region = data.get("region")
    if not isinstance(region, str) or db.session.get(Region, region) is None:
        errors["region"] = "不是有效的 GB/T 2260 行政区划代码"
    start = research.parse_period(data.get("period_from"), "period_from", "起始月份", errors)
    end = research.parse_period(data.get("period_to"), "period_to", "截止月份", errors)
    if start and end and end < start:
        errors["period_to"] = "截止月份不能早于起始月份"
    if errors:
        raise ApplicationError(errors)
    model = ResearchModel(institution_code=research.institution_of(scope),
                          submitted_by_id=user.id, name=name.strip(),
                          parameters=json.dumps(params), region_code=region,
                          period_from=start, period_to=end)
    db.session.add(model)
    db.session.flush()
    audit("research.model_submit", object_type="research_model", object_id=model.uid,
          summary={"divisions": sorted(params), "region": region, "period": [start, end]})
    enqueue("research.model_run", key=f"research.model_run:{model.uid}", model_id=model.id)
    return model


def list_(*, scope: DataScope) -> list[ResearchModel]:
    stmt = select(ResearchModel).order_by(ResearchModel.id.desc())
    return list(db.session.scalars(scoped(stmt, ResearchModel, scope)))


def get(*, uid: str, scope: DataScope) -> ResearchModel | None:
    stmt = select(ResearchModel).where(ResearchModel.uid == uid)
    return db.session.scalar(scoped(stmt, ResearchModel, scope))


def _metrics(pairs: list[tuple[int, float, float]], k: int) -> dict[str, Any]:
    """pairs: (enterprise id, predicted, accounted) per month."""
    enterprises = len({e for e, _, _ in pairs})
    out: dict[str, Any] = {"enterprises": enterprises if enterprises >= k else None,
                           "months": len(pairs) if enterprises >= k else None}
    if enterprises < k:
        out["withheld"] = f"覆盖企业数少于 {k} 家，不公开指标"
        return out
    rel = [abs(p - a) / a for _, p, a in pairs if a > 0]
    total = sum(a for _, _, a in pairs)
    out.update({
        "mape_pct": round(sum(rel) / len(rel) * 100, 2) if rel else None,
        "bias_pct": round((sum(p for _, p, _ in pairs) - total) / total * 100, 2)
        if total > 0 else None,
        "max_error_pct": round(max(rel) * 100, 2) if rel else None})
    return out


def run(*, model_id: int) -> ResearchModel | None:
    """Evaluate a model; idempotent (rewrites its own result)."""
    model = db.session.get(ResearchModel, model_id)
    if model is None:
        return None
    params = json.loads(model.parameters)
    k, _ = research.settings()
    A = CarbonAccount
    rows = db.session.execute(select(
        A.enterprise_id, func.substr(A.industry_code, 1, 2), A.electricity_mwh, A.co2_total).where(
        A.is_current.is_(True), A.period.between(model.period_from, model.period_to),
        A.region_code.like(region_prefix(model.region_code) + "%"))).all()
    cells: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    skipped = 0
    for eid, division, mwh, co2 in rows:
        pair = params.get(division or "") or params.get("*")
        if pair is None:
            skipped += 1
            continue
        predicted = pair["a"] + pair["b"] * float(Decimal(mwh or 0))
        cells[division or ""].append((eid, predicted, float(Decimal(co2 or 0))))
    names = dict(db.session.execute(select(Industry.code, Industry.name).where(
        Industry.level == "division")).all())
    result = {"divisions": [{"code": d, "name": names.get(d, "未登记行业"), **_metrics(p, k)}
                            for d, p in sorted(cells.items())],
              "overall": _metrics([x for p in cells.values() for x in p], k),
              "months_without_parameters": skipped, "min_enterprises": k,
              "compared_with": "当前碳账户（GB/T 32150 核算）二氧化碳排放量"}
    model.result = json.dumps(result, ensure_ascii=False)
    model.status, model.finished_at = "done", utcnow()
    audit("research.model_run", object_type="research_model", object_id=model.uid,
          email="system", summary={"months": len(rows) - skipped})
    return model


def as_json(model: ResearchModel) -> dict[str, Any]:
    return {"id": model.uid, "name": model.name, "parameters": json.loads(model.parameters),
            "region": model.region_code,
            "period_from": f"{model.period_from // 100}-{model.period_from % 100:02d}",
            "period_to": f"{model.period_to // 100}-{model.period_to % 100:02d}",
            "status": model.status, "status_label": STATUSES[model.status],
            "result": json.loads(model.result) if model.result else None}
