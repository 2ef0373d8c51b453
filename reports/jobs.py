"""`reports.case_event`: request the carbon accounting report of a report case's
enterprise-year when the case is submitted or published. Never commits; idempotent by
effect (the same accounts and trigger give the same document: `source_key`)."""

from __future__ import annotations

from sqlalchemy import select

from app.cases.models import ReportPublication
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
