"""Pages of verification: the verifier workspace (inbox, assigned cases, statements, the
body's team and declared conflicts), the verification case page (plan, evidence,
findings, before/after, conclusion), the statements (download within scope, public
verification page) and the bodies' published keys. Thin: the work is in the services."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_security import auth_required, current_user
from sqlalchemy import select

from app.crypto import signing
from app.extensions import db
from app.identity.scope import current_scope
from app.orgs.models import Enterprise, VerificationBody
from app.uow import commit, rollback
from app.verification import conflicts, evidence, rules, service
from app.verification.models import Statement
from app.workflow import assignment, hooks
from app.workflow.assignment import InboxFilter
from app.workflow.errors import WorkflowError

bp = Blueprint("verification", __name__)


def _case_or_404(verification_id: int):
    try:
        return service.get(verification_id=verification_id, user=current_user)
    except WorkflowError:
        abort(404)


@bp.route("/verification")
@auth_required("session")
def workspace():
    bodies = service.user_bodies(current_user)
    tasks = list(
        db.session.scalars(
            assignment.tasks_query(user=current_user, flt=InboxFilter(process=service.PROCESS))
        )
    )
    team = {code: service.body_members(body_code=code) for code in bodies}
    names = dict(
        db.session.execute(
            select(VerificationBody.code, VerificationBody.name).where(
                VerificationBody.code.in_(bodies)
            )
        ).all()
    )
    cases = service.list_for(user=current_user)
    issued = service.statements_for(user=current_user)
    declared = conflicts.list_for(body_codes=bodies)
    usccs = {x.enterprise_uscc for x in (*cases, *issued, *declared)}
    ent_names = dict(
        db.session.execute(
            select(Enterprise.uscc, Enterprise.name).where(Enterprise.uscc.in_(usccs))
        ).all()
    )
    return render_template(
        "verification/workspace.html",
        tasks=tasks,
        cases=cases,
        statements=issued,
        team=team,
        body_names=names,
        declared=declared,
        ent_names=ent_names,
        keys={
            code: getattr(
                signing.org_key(owner_type="verification_body", owner_id=code), "key_id", None
            )
            for code in bodies
        },
        opinions=rules.OPINIONS,
        levels=rules.LEVELS,
    )


@bp.route("/verification/conflicts", methods=["POST"])
@auth_required("session")
def declare_conflict():
    try:
        conflicts.declare(
            user=current_user,
            body_code=request.form.get("body_code", ""),
            enterprise_uscc=request.form.get("enterprise_uscc", ""),
            reason=request.form.get("reason", ""),
        )
        commit()
        flash("利益冲突声明已登记", "success")
    except WorkflowError as exc:
        rollback()
        flash(_message(exc), "error")
    return redirect(url_for("verification.workspace"))


def _message(exc: WorkflowError) -> str:
    fields = "；".join(f"{v}" for v in (exc.fields or {}).values() if isinstance(v, str))
    return exc.message + (f"：{fields}" if fields else "")


def case_view_model(v: Any) -> dict[str, Any]:
    """What the case page and the task page show of a verification."""
    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == v.enterprise_uscc))
    body = (
        db.session.scalar(select(VerificationBody).where(VerificationBody.code == v.body_code))
        if v.body_code
        else None
    )
    sampling = json.loads(v.sampling or "{}")
    stmt = db.session.scalar(select(Statement).where(Statement.verification_id == v.id))
    candidates = []
    if v.status == "requested" and ent is not None:  # the government picks among these
        for b in db.session.scalars(select(VerificationBody).order_by(VerificationBody.code)):
            candidates.append(
                {
                    "code": b.code,
                    "name": b.name,
                    "refusal": rules.assignment_refusal(body=b, enterprise=ent, year=v.year),
                }
            )
    return {
        "v": v,
        "enterprise": ent,
        "body": body,
        "sampling": sampling,
        "candidates": candidates,
        "reported": json.loads(v.reported or "{}"),
        "risks": json.loads(v.risks or "{}"),
        "checks": evidence.checks(v=v),
        "findings": evidence.findings(v=v),
        "missing": evidence.missing_checks(v=v) if sampling else [],
        "before_after": evidence.before_after(v=v),
        "conclusion": json.loads(v.verified) if v.verified else None,
        "statement": stmt,
        "history": service.history(v=v),
        "team": service.team_ids(v),
        "labels": rules.SOURCE_LABELS,
        "opinions": rules.OPINIONS,
        "levels": rules.LEVELS,
        "risk_labels": rules.RISKS,
        "check_statuses": evidence.CHECK_STATUSES,
        "finding_statuses": evidence.FINDING_STATUSES,
    }


@bp.route("/verification/<int:verification_id>")
@auth_required("session")
def case(verification_id: int):
    v = _case_or_404(verification_id)
    model = case_view_model(v)
    model["is_team"] = current_user.id in model["team"]
    model["is_enterprise"] = v.enterprise_uscc in current_scope().enterprise
    return render_template("verification/case.html", **model)


def _act(verification_id: int, fn, ok: str):
    v = _case_or_404(verification_id)
    try:
        fn(v)
        commit()
        flash(ok, "success")
    except WorkflowError as exc:
        rollback()
        flash(_message(exc), "error")
    return redirect(url_for("verification.case", verification_id=verification_id))


@bp.route("/verification/<int:verification_id>/checks", methods=["POST"])
@auth_required("session")
def record_check(verification_id: int):
    f = request.form
    return _act(
        verification_id,
        lambda v: evidence.record_check(
            v=v,
            user=current_user,
            source=f.get("source", ""),
            month=f.get("month"),
            status=f.get("status", ""),
            note=f.get("note"),
        ),
        "核对记录已保存",
    )


@bp.route("/verification/<int:verification_id>/findings", methods=["POST"])
@auth_required("session")
def raise_finding(verification_id: int):
    f = request.form
    return _act(
        verification_id,
        lambda v: evidence.raise_finding(
            v=v,
            user=current_user,
            requirement=f.get("requirement", ""),
            description=f.get("description", ""),
            due_date=f.get("due_date"),
        ),
        "不符合项已提出",
    )


@bp.route("/verification/<int:verification_id>/findings/<int:finding_id>/answer", methods=["POST"])
@auth_required("session")
def answer_finding(verification_id: int, finding_id: int):
    f = request.form
    return _act(
        verification_id,
        lambda v: evidence.answer_finding(
            v=v,
            user=current_user,
            finding_id=finding_id,
            response=f.get("response", ""),
            corrected=bool(f.get("corrected")),
        ),
        "答复已提交",
    )


@bp.route("/verification/<int:verification_id>/findings/<int:finding_id>/decide", methods=["POST"])
@auth_required("session")
def decide_finding(verification_id: int, finding_id: int):
    f = request.form
    return _act(
        verification_id,
        lambda v: evidence.decide_finding(
            v=v,
            user=current_user,
            finding_id=finding_id,
            decision=f.get("decision", ""),
            note=f.get("note"),
        ),
        "不符合项处理结论已保存",
    )


# ---- beside other pages ------------------------------------------------------------------


def account_panel(ent: Any, year: int) -> dict[str, Any] | None:
    """The account page of a verified year: "经第三方核查" with the statement's link."""
    row = db.session.scalars(
        select(Statement)
        .where(Statement.enterprise_uscc == ent.uscc, Statement.year == year)
        .order_by(Statement.id.desc())
    ).first()
    if row is None:
        return None
    return {
        "title": "经第三方核查",
        "text": f"{rules.OPINIONS.get(row.opinion, row.opinion)}（"
        f"{rules.LEVELS.get(row.level, row.level)}）",
        "url": url_for("documents.verify", document_id=row.document_id),
        "link": "核查声明",
    }


@hooks.context(service.PROCESS)
def verification_context(inst: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """Beside a verification task: the figures, plan, evidence and findings."""
    v = service.get_by_instance(instance_id=inst.id)
    if v is None:
        return None
    return {"template": "verification/_case_context.html", **case_view_model(v)}


def report_extra(inst: Any) -> dict[str, Any] | None:
    """Beside a report case's review: its verification and the statement it received."""
    v = service.get_by_report(report_instance_id=inst.id)
    if v is None:
        return None
    stmt = db.session.scalar(select(Statement).where(Statement.verification_id == v.id))
    return {
        "template": "verification/_report_extra.html",
        "v": v,
        "statement": stmt,
        "opinions": rules.OPINIONS,
        "levels": rules.LEVELS,
        "conclusion": json.loads(v.verified) if v.verified else None,
    }
