"""Third-party check of simulated factors (6.4.3), run by the BPMN process
`processes/factor_check`: the platform computes MAPE, bias and maximum error of the factor
set against measured results and a pass/fail against the tolerance; the verification body
confirms or rejects; the outcome is a signed PDF statement in the document store
(`check_statement`, signed by the body's certified key) beside the platform-signed JSON
record kept since the first version; a passed enterprise factor becomes a "third-party
certified" version, a passed regional network is marked certified.

The verification body is a party of the case from its start (named, or picked by the
assignment rules of `app.verification.rules`, conflicts of interest included): the
`verifier` lane's task is offered only to that body's verifiers, and only they may
complete it (refusals audited).

Measured results: for an enterprise, its published (verified) reports' monthly CO2 against
electricity × the factor (a + b · E), else its current accounts, flagged as unverified; for
a region, the official MEE/NBS provincial factors of the same year.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select

from app.crypto.signing import canonical_json, public_pem, sign_document, verify_document
from app.db import utcnow
from app.extensions import db
from app.factors import check_statement, library, regional
from app.factors.models import ElectricityFactor, FactorCheck, RegionalNetwork
from app.orgs.models import Enterprise, VerificationBody
from app.uow import refused
from app.workflow import context, hooks
from app.workflow.engine import ServiceError, register_service
from app.workflow.errors import Forbidden, Invalid

DEFAULT_TOLERANCE_PCT = 10.0


def metrics(predicted: Any, measured: Any, *, tolerance_pct: float) -> dict:
    """Errors in % of the measured value: MAPE, bias (mean signed), max |error|."""
    p = np.asarray(predicted, float)
    m = np.asarray(measured, float)
    ok = np.isfinite(p) & np.isfinite(m) & (m != 0)
    if not ok.any():
        raise ServiceError("没有可比较的实测数据")
    err = 100.0 * (p[ok] - m[ok]) / m[ok]
    mape = float(np.mean(np.abs(err)))
    return {"n": int(ok.sum()), "mape_pct": mape, "bias_pct": float(np.mean(err)),
            "max_error_pct": float(np.max(np.abs(err))), "tolerance_pct": tolerance_pct,
            "passed": mape <= tolerance_pct}


def _enterprise_points(ent: Enterprise, f: ElectricityFactor) -> tuple[list[dict], str]:
    from app.cases.service import list_current_publications

    pubs = list_current_publications(enterprise_uscc=ent.uscc)
    points, basis = [], "published"
    for pub in pubs:
        for fig in json.loads(pub.figures):
            points.append({"period": fig["period"], "mwh": float(fig["electricity_mwh"]),
                           "measured": float(fig["co2_total"])})
    if not points:
        basis = "accounts"
        _, period, e, co2 = library.load_series(enterprise_ids=[ent.id])
        points = [{"period": int(p), "mwh": float(x), "measured": float(y)}
                  for p, x, y in zip(period, e, co2, strict=True)]
    a = float(f.intercept or 0) if f.origin == "computed" or f.intercept is not None else 0.0
    for pt in points:
        pt["predicted"] = a + float(f.slope) * pt["mwh"]
    return points, basis


def compute(data: dict[str, Any]) -> dict[str, Any]:
    tol = float(data.get("tolerance_pct") or DEFAULT_TOLERANCE_PCT)
    if not 0 < tol <= 100:
        raise ServiceError("容差 tolerance_pct 应在 0–100 之间")
    if data.get("subject") == "region":
        net = db.session.get(RegionalNetwork, int(data.get("network_id") or 0))
        if net is None:
            raise ServiceError("区域电网数据不存在（network_id）")
        rows = [r for r in regional.compare_official(net)["rows"] if r.get("official")]
        res = metrics([r["simulated"] for r in rows], [r["official"] for r in rows],
                      tolerance_pct=tol)
        detail = [{"id": r["id"], "name": r["name"], "predicted": r["simulated"],
                   "measured": r["official"]} for r in rows]
        return {"check": {**res, "subject": "region", "network_id": net.id,
                          "basis": "official_provincial_factors", "points": detail,
                          "is_demo": net.is_demo}}
    ctx = context.current()
    uscc = ctx.enterprise_uscc if ctx else data.get("enterprise_uscc")
    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
    if ent is None:
        raise ServiceError("案件未关联企业")
    f = library.current(enterprise_id=ent.id)
    if f is None:
        raise ServiceError(f"{ent.name} 没有现行电碳因子")
    points, basis = _enterprise_points(ent, f)
    res = metrics([p["predicted"] for p in points], [p["measured"] for p in points],
                  tolerance_pct=tol)
    return {"check": {**res, "subject": "enterprise", "factor_id": f.id,
                      "factor_version": f.version, "slope": str(f.slope),
                      "intercept": None if f.intercept is None else str(f.intercept),
                      "basis": basis, "points": points}}


def _statement(chk: dict, decision: str, comment: str, actor: str | None,
               uscc: str | None) -> dict:
    return {"type": "cecp.factor_check", "subject": chk["subject"], "enterprise": uscc,
            "network_id": chk.get("network_id"), "factor_id": chk.get("factor_id"),
            "factor_version": chk.get("factor_version"), "basis": chk["basis"],
            "n": chk["n"], "mape_pct": round(chk["mape_pct"], 4),
            "bias_pct": round(chk["bias_pct"], 4),
            "max_error_pct": round(chk["max_error_pct"], 4),
            "tolerance_pct": chk["tolerance_pct"], "computed_pass": chk["passed"],
            "body_decision": decision, "body_comment": comment, "verifier": actor,
            "passed": bool(chk["passed"] and decision == "confirm"),
            "signed_at": utcnow().isoformat(timespec="seconds") + "Z"}


def sign(data: dict[str, Any]) -> dict[str, Any]:
    """Write the signed record after the instance is saved; certify what passed."""
    chk = data.get("check")
    if not chk:
        raise ServiceError("缺少核验结果")
    decision = data.get("decision", "reject")
    ctx = context.current()
    actor = ctx.actor if ctx else None
    verifier = data.get("verified_by") or getattr(actor, "email", None)
    uscc = ctx.enterprise_uscc if ctx else None
    statement = _statement(chk, decision, data.get("comment", ""), verifier, uscc)
    body_code = data.get("body_code")
    statement["body"] = body_code
    body_json = canonical_json(statement)
    signature = sign_document(body_json).hex()

    def write(instance_id: int) -> None:
        ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc)) \
            if uscc else None
        rec = FactorCheck(
            subject=chk["subject"], enterprise_id=ent.id if ent else None,
            enterprise_uscc=ent.uscc if ent else None,
            factor_id=chk.get("factor_id"), network_id=chk.get("network_id"),
            region_code=ent.region_code if ent else (ctx.region_code if ctx else None),
            body_code=body_code, tolerance_pct=Decimal(str(chk["tolerance_pct"])),
            n=chk["n"], mape_pct=Decimal(str(round(chk["mape_pct"], 4))),
            bias_pct=Decimal(str(round(chk["bias_pct"], 4))),
            max_error_pct=Decimal(str(round(chk["max_error_pct"], 4))),
            passed=statement["passed"], details={"points": chk.get("points", [])[:500],
                                                 "evidence": data.get("evidence")},
            statement=body_json.decode(), signature=signature, signer="platform",
            workflow_instance=str(instance_id), created_by=verifier)
        body = db.session.scalar(select(VerificationBody).where(
            VerificationBody.code == body_code)) if body_code else None
        net = db.session.get(RegionalNetwork, chk["network_id"]) \
            if chk.get("network_id") else None
        doc = check_statement.issue(
            statement={**statement, "slope": chk.get("slope"),
                       "intercept": chk.get("intercept"), "region_code": rec.region_code},
            points=chk.get("points", []), enterprise=ent, network=net, body=body)
        rec.document_id = doc.id
        db.session.add(rec)
        db.session.flush()
        context.audit("factors.check", object_type="factor_check", object_id=rec.id,
                      user=actor, summary={"passed": rec.passed, "mape_pct": str(rec.mape_pct),
                                           "instance": instance_id, "body": body_code,
                                           "document": doc.id, "key": doc.signer_key_id})
        if not rec.passed:
            return
        if chk["subject"] == "enterprise":
            f = db.session.get(ElectricityFactor, chk["factor_id"])
            if f is not None and f.is_current:
                library.certify(factor=f, check_id=rec.id, statement=body_json.decode(),
                                actor=actor)
        elif net is not None:
            net.status, net.check_id = "certified", rec.id
        db.session.flush()

    context.after_save(write)
    return {"signed": {"passed": statement["passed"], "signature": signature[:16] + "…"}}


# ---- the verification body as a party of the case ----------------------------------------


def pick_body(*, enterprise: Enterprise | None, body_code: str | None = None) -> str:
    """The body named (checked by the assignment rules: accreditation, its scope for the
    enterprise's industry, declared conflicts of interest, consecutive years), else the
    first eligible body by code. Invalid naming the field when there is none."""
    from datetime import date

    from app.verification import rules

    year = date.today().year
    if body_code:
        bodies = [db.session.scalar(select(VerificationBody).where(
            VerificationBody.code == body_code))]
    else:
        bodies = list(db.session.scalars(select(VerificationBody).order_by(
            VerificationBody.code)))
    reasons = []
    for b in bodies:
        if enterprise is not None:
            why = rules.assignment_refusal(body=b, enterprise=enterprise, year=year)
        elif b is None:
            why = "核查机构不存在"
        elif not b.accreditation or (b.accredited_until and b.accredited_until < date.today()):
            why = f"{b.name}没有有效的核查资质"
        else:
            why = None
        if why is None:
            return b.code
        reasons.append(why)
    if body_code:
        refused("factors.check.assignment.refused", object_type="verification_body",
                summary={"body": body_code, "reason": reasons[0],
                         "enterprise": getattr(enterprise, "uscc", None)})
        raise Invalid(reasons[0], fields={"body_code": reasons[0]})
    raise Invalid("没有可指派的核查机构（资质、认可范围或利益冲突）",
                  fields={"body_code": "没有可指派的核查机构"})


@hooks.on_start("factor_check")
def _on_start(data: dict[str, Any], enterprise: Enterprise | None) -> dict[str, Any]:
    code = str(data.get("body_code") or "").strip() or None
    return {**data, "body_code": pick_body(enterprise=enterprise, body_code=code)}


@hooks.case_body("factor_check")
def _case_body(data: dict[str, Any]) -> str | None:
    return data.get("body_code")


@hooks.on_submit("factor_check", "verify")
def _on_verify(data: dict[str, Any], task_data: dict[str, Any]):
    """Only a verifier of the body assigned to the case decides (audited refusal)."""
    from app.identity.scope import scope_for

    ctx = context.current()
    body = task_data.get("body_code")
    if not body or body not in scope_for(ctx.actor).verification_body:
        refused("factors.check.refused", object_type="workflow_instance",
                object_id=ctx.instance_id, user=ctx.actor,
                summary={"action": "verify", "reason": "other_body", "body": body})
        raise Forbidden("只有被指派核查机构的核查员可以办理本核验")
    from app.factors import model_evidence  # a research model run attached as evidence

    errors, extra = model_evidence.attach(data)
    return errors, {**extra, "verified_by": getattr(ctx.actor, "email", None)}


def verify(check: FactorCheck) -> bool:
    """Anyone can check the record with the platform's public key (also with OpenSSL)."""
    return verify_document(check.statement.encode(), bytes.fromhex(check.signature),
                           public_pem())


@register_service("factors.check_compute", replace=True)
def _svc_compute(data: dict[str, Any]) -> dict[str, Any]:
    return compute(data)


@register_service("factors.check_sign", replace=True)
def _svc_sign(data: dict[str, Any]) -> dict[str, Any]:
    return sign(data)


def start_check(*, user: Any, tolerance_pct: Any, enterprise: Enterprise | None = None,
                network: RegionalNetwork | None = None, region_code: str | None = None,
                body_code: str | None = None):
    """Send a factor set to the verification body: starts `factor_check` for the case."""
    from app.workflow import service as workflow

    try:
        tol = float(tolerance_pct or DEFAULT_TOLERANCE_PCT)
    except (TypeError, ValueError):
        tol = -1.0
    if not 0 < tol <= 100:
        from app.workflow.errors import Invalid

        raise Invalid("容差应为 0–100 之间的百分数", fields={"tolerance_pct": "取值无效"})
    if enterprise is not None:
        data = {"subject": "enterprise", "enterprise_uscc": enterprise.uscc,
                "tolerance_pct": tol}
    else:
        data = {"subject": "region", "network_id": network.id, "tolerance_pct": tol,
                "region_code": region_code}
    if body_code:
        data["body_code"] = body_code
    return workflow.start(model="factor_check", data=data, user=user)


def for_enterprise(*, enterprise_id: int) -> list[FactorCheck]:
    return list(db.session.scalars(select(FactorCheck).where(
        FactorCheck.enterprise_id == enterprise_id).order_by(FactorCheck.id.desc())))


def for_network(*, network_id: int) -> list[FactorCheck]:
    return list(db.session.scalars(select(FactorCheck).where(
        FactorCheck.network_id == network_id).order_by(FactorCheck.id.desc())))


def as_dict(check: FactorCheck) -> dict:
    return {"id": check.id, "subject": check.subject, "passed": check.passed,
            "n": check.n, "mape_pct": float(check.mape_pct) if check.mape_pct is not None
            else None, "bias_pct": float(check.bias_pct) if check.bias_pct is not None
            else None, "max_error_pct": float(check.max_error_pct)
            if check.max_error_pct is not None else None,
            "tolerance_pct": float(check.tolerance_pct), "statement": check.statement,
            "signature": check.signature, "signature_algorithm": "SM2 (SM3, DER, id "
                                                                 "1234567812345678)",
            "signature_valid": verify(check), "public_key_pem": public_pem(),
            "body_code": check.body_code, "document_id": check.document_id,
            "document_verify_url": f"/documents/{check.document_id}/verify"
            if check.document_id else None}
