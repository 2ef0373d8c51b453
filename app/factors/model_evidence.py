"""Research model runs as evidence in the third-party check of factors (R-6.5.1 "feeding the
third-party check of factors", 6.4.3).

A research institute's model (`app.onboarding.research_models`: CO2 = a + b · electricity per
GB/T 4754 division) is run by the platform against the accounted CO2 of a region. Beside the
`verify` task of a `factor_check` case, the verifier sees the latest completed runs that are
comparable with the case - a region covering the enterprise's and a result for its division
with metrics (divisions under k enterprises carry none) - with their MAPE, bias and largest
error, and may attach one as evidence: it is kept in the case's data, copied onto the signed
check record (`details.evidence`) and audited (`factors.check.evidence`).

Only aggregated, k-protected figures are shown (the same figures the institute sees); the
institute's parameters are its own and are not shown.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.identity.scope import region_prefix
from app.orgs.models import Enterprise
from app.workflow import context, hooks

LIMIT = 5


def _division(enterprise: Enterprise | None) -> str | None:
    code = getattr(enterprise, "industry_code", None)
    return code[:2] if code else None


def _entry(model: Any, division: str) -> dict[str, Any] | None:
    result = json.loads(model.result or "{}")
    row = next((d for d in result.get("divisions", []) if d.get("code") == division), None)
    if row is None or row.get("mape_pct") is None:
        return None
    return {"model": model.uid, "name": model.name, "institution": model.institution_code,
            "region": model.region_code, "division": division,
            "period_from": model.period_from, "period_to": model.period_to,
            "enterprises": row.get("enterprises"), "months": row.get("months"),
            "mape_pct": row.get("mape_pct"), "bias_pct": row.get("bias_pct"),
            "max_error_pct": row.get("max_error_pct"),
            "finished_at": model.finished_at.isoformat() + "Z" if model.finished_at else None}


def comparable(*, enterprise: Enterprise | None, limit: int = LIMIT) -> list[dict[str, Any]]:
    """The latest completed runs covering the enterprise's region and division (newest
    first), with that division's error metrics."""
    from app.onboarding.models import ResearchModel

    division = _division(enterprise)
    if division is None or not enterprise.region_code:
        return []
    out = []
    rows = db.session.scalars(select(ResearchModel).where(ResearchModel.status == "done")
                              .order_by(ResearchModel.finished_at.desc()).limit(200))
    for model in rows:
        if not enterprise.region_code.startswith(region_prefix(model.region_code)):
            continue
        entry = _entry(model, division)
        if entry is not None:
            out.append(entry)
        if len(out) >= limit:
            break
    return out


def _case_enterprise() -> Enterprise | None:
    ctx = context.current()
    if ctx is None or not ctx.enterprise_uscc:
        return None
    return db.session.scalar(select(Enterprise).where(Enterprise.uscc == ctx.enterprise_uscc))


def attach(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The `evidence_model` field of the verify form: a comparable run (field error
    otherwise); its figures go into the case data, the audit after the step is saved."""
    uid = str(data.get("evidence_model") or "").strip()
    if not uid:
        return {}, {}
    found = next((e for e in comparable(enterprise=_case_enterprise(), limit=50)
                  if e["model"] == uid), None)
    if found is None:
        return {"evidence_model": "不是与本案可比较的已完成研究模型"
                                  "（同地区、同行业大类、有误差指标）"}, {}
    ctx = context.current()
    actor = ctx.actor if ctx else None
    context.after_save(lambda instance_id: context.audit(
        "factors.check.evidence", object_type="workflow_instance", object_id=instance_id,
        user=actor, summary={"model": uid, "mape_pct": found["mape_pct"],
                             "institution": found["institution"]}))
    return {}, {"evidence": found}


@hooks.context("factor_check")
def _context(inst: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """Beside the verify task: the platform's computed errors and comparable model runs."""
    ent = db.session.scalar(select(Enterprise).where(
        Enterprise.uscc == inst.enterprise_uscc)) if inst.enterprise_uscc else None
    return {"template": "factors/_check_context.html", "check": data.get("check"),
            "runs": comparable(enterprise=ent), "evidence": data.get("evidence"),
            "division": _division(ent)}
