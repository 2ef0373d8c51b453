"""`reports.case_event`: request the carbon accounting report of a report case's
enterprise-year when the case is submitted or published. `reports.accounts_changed`:
rebuild the reports already issued for enterprise-years whose accounts changed. Never
commit; idempotent by effect (the same accounts and trigger give the same document:
`source_key`)."""

from __future__ import annotations

from sqlalchemy import select

from app.cases.models import ReportPublication
from app.documents.models import Document
from app.extensions import db
from app.jobs.registry import job
from app.orgs.models import Enterprise
from app.workflow.models import ProcessInstance
from app.workflow.service import task_data
from reports import service


@job("reports.case_event")
def case_event(*, instance_id: int, event: str) -> str | None:
    inst = db.session.get(ProcessInstance, instance_id)
    if inst is None or not inst.enterprise_uscc:
        return None
    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == inst.enterprise_uscc))
    if ent is None:
        return None
    if event == "published":
        pub = db.session.scalar(
            select(ReportPublication).where(ReportPublication.instance_id == inst.id)
        )
        if pub is None:  # completed without publication (rejected, withdrawn)
            return None
        year = pub.year
    else:
        year = int(task_data(inst).get("year") or 0)
    if not year:
        return None
    try:
        doc = service.request_report(enterprise=ent, year=year, trigger=event, case_id=inst.id)
    except service.ReportError:
        return None
    return doc.id


@job("reports.accounts_changed")
def accounts_changed(*, enterprise_ids: list[int] | None, years: list[int] | None) -> int:
    """Only enterprise-years with an issued report are rebuilt: nobody asked for the others."""
    stmt = (
        select(Enterprise, Document.period)
        .join(Document, Document.subject_id == Enterprise.uscc)
        .where(
            Document.kind == service.KIND,
            Document.subject_type == "enterprise",
            Document.status == "ready",
        )
        .distinct()
    )
    if enterprise_ids is not None:
        stmt = stmt.where(Enterprise.id.in_(enterprise_ids))
    if years is not None:
        stmt = stmt.where(Document.period.in_([str(y) for y in years]))
    made = 0
    for ent, period in db.session.execute(stmt).all():
        doc = service.request_report(enterprise=ent, year=int(period), trigger="accounts_changed")
        made += doc.status == "pending"
    return made
