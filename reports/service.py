"""The carbon accounting report's public face: ask for an enterprise-year report (a job
builds, signs and stores it in the document store) and the builder that job runs.

Flushes, never commits. The same inputs (account versions and states of the year and the
year before, and the trigger) give the same `source_key`, so asking twice builds once.
"""

from __future__ import annotations

from typing import Any

from app.audit.service import record as audit
from app.documents import service as documents
from app.documents.models import Document
from app.extensions import db
from app.orgs.models import Enterprise
from reports import data as report_data
from reports import pdf as report_pdf

KIND = "carbon_report"
TRIGGERS = tuple(report_pdf.TRIGGERS)


class ReportError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def title(enterprise: Enterprise, year: int) -> str:
    return f"{enterprise.name} {year}年度 温室气体排放报告"


def request_report(
    *,
    enterprise: Enterprise,
    year: int,
    trigger: str = "manual",
    case_id: int | None = None,
    user: Any = None,
) -> Document:
    """A pending report document for the enterprise-year (or the one already pending or
    issued from the same inputs). The `documents.build` job renders and signs it."""
    if not isinstance(year, int) or not 1990 <= year <= 2100:
        raise ReportError("year", "年份应为 1990–2100 之间的四位数字")
    if trigger not in TRIGGERS:
        raise ReportError("trigger", f"生成原因应为：{'、'.join(TRIGGERS)}")
    key = report_data.fingerprint(enterprise=enterprise, year=year, trigger=trigger)
    doc = documents.request_document(
        kind=KIND,
        subject=documents.enterprise_subject(enterprise),
        period=str(year),
        title=title(enterprise, year),
        trigger=trigger,
        source_key=key,
        params={
            "enterprise_id": enterprise.id,
            "year": year,
            "trigger": trigger,
            "case_id": case_id,
        },
    )
    if user is not None:
        audit(
            "report.request",
            object_type="document",
            object_id=doc.id,
            user=user,
            summary={"enterprise": enterprise.uscc, "year": year, "trigger": trigger},
        )
    return doc


def render(
    *,
    enterprise: Enterprise,
    year: int,
    document_id: str,
    trigger: str | None,
    charts: bool = True,
    with_selfcheck: bool = True,
) -> tuple[bytes, int]:
    """Collect and lay out one report (used by the builder and the benchmark)."""
    collected = report_data.collect(enterprise=enterprise, year=year, with_selfcheck=with_selfcheck)
    return report_pdf.render(
        collected,
        document_id=document_id,
        verify_url=documents.verify_url(document_id),
        trigger=trigger,
        charts=charts,
    )


def build(doc: Document, params: dict[str, Any]) -> documents.Built:
    """Builder of `carbon_report` documents (run by the `documents.build` job)."""
    enterprise = db.session.get(Enterprise, int(params["enterprise_id"]))
    if enterprise is None:
        raise LookupError("企业不存在")
    pdf, pages = render(
        enterprise=enterprise,
        year=int(params["year"]),
        document_id=doc.id,
        trigger=params.get("trigger"),
    )
    return documents.Built(pdf=pdf, pages=pages)


def latest(*, enterprise: Enterprise, year: int) -> Document | None:
    """The newest issued report of an enterprise-year (platform-internal: no scope)."""
    docs = documents.list_(
        scope=documents.ALL,
        subject_type="enterprise",
        subject_id=enterprise.uscc,
        kind=KIND,
        period=str(year),
    )
    return next((d for d in docs if d.status == "ready"), None)
