"""`cecp demo`: one verification of the demo enterprise's report, from assignment to the
signed statement the report case receives (the statement is written by the job the
command's commit dispatches; with a worker, by the worker). A second body with a declared
conflict of interest shows the refusal. Idempotent: a verification that has moved on is
left as it is."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select

from app.extensions import db

TEAM = (
    ("verifier2@demo.cecp", "孙涛（浙江核查中心，核查员）"),
    ("verifier3@demo.cecp", "周敏（浙江核查中心，独立复核）"),
)
CONFLICTED = "VB-ZJ-002"


def _ensure_bodies() -> None:
    from app.demo import DEMO_PROVINCE, DEMO_VBODY, demo_enterprise_uscc
    from app.orgs.models import VerificationBody
    from app.verification.models import BodyConflict

    body = db.session.scalar(select(VerificationBody).where(VerificationBody.code == DEMO_VBODY))
    if body is not None and not body.accreditation_scope:
        body.accreditation_scope = "*"
        body.accredited_until = date(date.today().year + 3, 12, 31)
    if (
        db.session.scalar(select(VerificationBody).where(VerificationBody.code == CONFLICTED))
        is None
    ):
        db.session.add(
            VerificationBody(
                code=CONFLICTED,
                name="杭州示范低碳认证中心",
                region_code=DEMO_PROVINCE,
                accreditation="CNAS-示范2",
                accreditation_scope="*",
            )
        )
        db.session.add(
            BodyConflict(
                body_code=CONFLICTED,
                enterprise_uscc=demo_enterprise_uscc(),
                reason="演示：该机构曾为企业编制碳排放报告",
                declared_by="demo",
            )
        )
    db.session.flush()


def _ensure_team() -> list:
    from app.demo import DEMO_VBODY
    from app.identity import service as accounts

    users = []
    for email, name in TEAM:
        user = accounts.get_by_email(email=email)
        if user is None:
            user = accounts.create(
                email=email,
                password=current_app.config["CECP_DEMO_PASSWORD"],
                roles=["verifier"],
                display_name=name,
                check_policy=False,
                scopes=[("verification_body", DEMO_VBODY)],
            )
        users.append(user)
    return users


def _step(inst, name: str, user, data: dict) -> object:
    from app.workflow import service

    task = next((t for t in service.current_tasks(inst=inst) if t.name == name), None)
    if task is None:
        return inst
    return service.complete(task_id=task.id, user=user, data=data)


def run(*, report, reviewer, lead, member, checker) -> None:
    """Walk one verification of `report` to its independent review (the job signs)."""
    import json

    from app.demo import DEMO_VBODY
    from app.verification import evidence, service
    from app.workflow.models import ProcessInstance

    report = _step(
        report,
        "initial_review",
        reviewer,
        {
            "decision": "approve",
            "comment": "演示：同意，重点排放单位须第三方核查",
            "require_verification": True,
        },
    )
    v = service.get_by_report(report_instance_id=report.id)
    if v is None or v.status != "requested":
        return
    inst = db.session.get(ProcessInstance, v.instance_id)
    inst = _step(
        inst,
        "assign_body",
        reviewer,
        {"body_code": DEMO_VBODY, "note": "演示：指派浙江示范碳核查中心"},
    )
    inst = _step(inst, "accept_assignment", lead, {"decision": "accept", "team": member.email})
    inst = _step(
        inst,
        "plan",
        lead,
        {
            "level_of_assurance": "reasonable",
            "materiality_pct": 5,
            "risk_combustion": "high",
            "risk_process": "medium",
            "risk_electricity": "medium",
            "risk_heat": "low",
        },
    )
    for source, month in evidence.missing_checks(v=v):
        evidence.record_check(
            v=v,
            user=member,
            source=source,
            month=month,
            status="checked",
            note="演示：台账、发票与计量记录一致",
        )
    inst = _step(
        inst,
        "fieldwork",
        lead,
        {
            "site_visit_date": date.today().isoformat(),
            "people_met": "张工（能源管理）、财务负责人",
            "site_notes": "演示：查看了燃料入库台账、电费发票与主要计量器具",
        },
    )
    reported = json.loads(v.reported)["sources"]
    inst = _step(
        inst,
        "conclusion",
        lead,
        {
            **{f"verified_{k}": float(reported[k]["total"]) for k in reported},
            "opinion": "unqualified",
        },
    )
    inst = _step(inst, "independent_review", checker,
                 {"decision": "approve", "comment": "演示：复核通过"})
    _finish_now(inst)


def _finish_now(inst) -> None:
    """Run the statement job and the message back to the report case now (the demo commits
    without dispatching its outbox); the outbox rows run later find nothing left to do
    (the statement is idempotent on its uid, the report case no longer waits)."""
    import json

    from app.jobs.models import OutboxJob
    from app.verification import statement
    from app.workflow import events

    for name, run in (("verification.issue_statement", statement.issue_job),
                      ("workflow.deliver_message", events.deliver)):
        for row in db.session.scalars(select(OutboxJob).where(
                OutboxJob.name == name, OutboxJob.status == "pending")).all():
            payload = json.loads(row.payload)
            if name == "verification.issue_statement" and payload.get("instance_id") != inst.id:
                continue
            if name == "workflow.deliver_message" and payload.get(
                    "source_instance_id") != inst.id:
                continue
            if name == "workflow.deliver_message":
                run(message=payload["message"], source_instance_id=inst.id)
            else:
                run(**payload)


def load(enterprises: int, months: int) -> None:
    from app.demo import demo_enterprise_uscc
    from app.identity import service as accounts
    from app.workflow.errors import WorkflowError
    from app.workflow.models import ProcessInstance

    _ensure_bodies()
    member, checker = _ensure_team()
    report = db.session.scalars(
        select(ProcessInstance)
        .where(
            ProcessInstance.process_key == "enterprise_report",
            ProcessInstance.enterprise_uscc == demo_enterprise_uscc(),
            ProcessInstance.status == "running",
        )
        .order_by(ProcessInstance.id)
    ).first()
    reviewer = accounts.get_by_email(email="reviewer@demo.cecp")
    lead = accounts.get_by_email(email="verifier@demo.cecp")
    if report is None or reviewer is None or lead is None:
        return
    try:
        with db.session.begin_nested():
            run(report=report, reviewer=reviewer, lead=lead, member=member, checker=checker)
    except WorkflowError as exc:  # e.g. no accounting data: the demo stays ready to run
        current_app.logger.info("demo verification not run: %s", exc)
