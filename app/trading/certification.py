"""Certification of a monitoring report (R-6.3a/b): verified and certified reductions become
an asset lot and a signed reduction certificate.

Process `processes/reduction_certification`: the owner submits a report naming the
verification body it engaged (`open`), that body verifies (the verified tonnes may only be
corrected downward, with a reason: `verify_errors`), a government reviewer certifies or
sends it back, and `issue` turns the certified tonnes into a lot and a certificate.

Rounding: the certified tonnes are the verified reduction rounded DOWN to whole tonnes.
A serial is one tonne CO2e; the fraction below one tonne is not issued because issuing
more than was verified (rounding up, or half-up) would create assets without a reduction
behind them (GB/T 33760-2017 conservativeness).

`issue` is idempotent: it locks the report row and returns the lot already issued, so a
replayed service step (retry after an error, or a second worker) never issues twice.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.db import utcnow
from app.documents import service as documents
from app.extensions import db
from app.orgs.models import VerificationBody
from app.trading import ledger
from app.trading.models import Lot, MonitoringReport, Project

KIND = "reduction_certificate"
PROCESS = "reduction_certification"


class CertificationError(ValueError):
    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.message, self.field = message, field


def certified_tonnes(verified: Decimal) -> int:
    """Whole tonnes, rounded down (see the module docstring for why)."""
    return int(Decimal(verified).to_integral_value(rounding=ROUND_DOWN))


def period_label(r: MonitoringReport) -> str:
    return f"{r.period_start.isoformat()}—{r.period_end.isoformat()}"


def get_by_id(*, report_id: int) -> MonitoringReport | None:
    return db.session.get(MonitoringReport, report_id)


def open_errors(*, report: MonitoringReport | None, enterprise_uscc: str | None,
                body_code: str) -> dict[str, str]:
    """Why a report cannot be submitted for certification (field -> message)."""
    if report is None or report.project.enterprise_uscc != enterprise_uscc:
        return {"report_id": "监测报告不存在或不属于本企业"}
    errors = {}
    if report.status not in ("draft", "rejected"):
        errors["report_id"] = f"监测报告状态为“{report.status}”，不能再次提交"
    if report.reduction is None or not report.result:
        errors["report_id"] = "监测报告尚未量化减排量"
    body = db.session.scalar(select(VerificationBody).where(VerificationBody.code == body_code))
    if body is None:
        errors["body_code"] = "核查机构不存在"
    elif body.accredited_until is not None and body.accredited_until < date.today():
        errors["body_code"] = "核查机构资质已过期"
    return errors


def submit(*, report: MonitoringReport, case_id: int, user: Any) -> None:
    report.status, report.case_id, report.submitted_at = "submitted", case_id, utcnow()
    audit.record("trading.report.submit", object_type="trading_monitoring_report",
                 object_id=report.id, user=user, summary={"case": case_id})


def verify_errors(*, report: MonitoringReport, data: dict[str, Any]) -> dict[str, str]:
    """The verified tonnes: a number, never above the quantified reduction; a downward
    correction needs its reason."""
    try:
        verified = Decimal(str(data.get("verified_tonnes")))
    except (InvalidOperation, ValueError):
        return {"verified_tonnes": "必须是数字（tCO2e）"}
    if not verified.is_finite() or verified < 0:
        return {"verified_tonnes": "必须是不小于 0 的数字（tCO2e）"}
    if verified > report.reduction:
        return {"verified_tonnes": f"不得高于监测报告的量化减排量 {report.reduction:,} tCO2e"}
    if verified < report.reduction and not str(data.get("correction_reason") or "").strip():
        return {"correction_reason": "核查减排量低于量化结果时必须说明更正理由"}
    return {}


def mark(*, report: MonitoringReport, status: str, user: Any, summary: dict) -> None:
    report.status = status
    audit.record(f"trading.report.{status}", object_type="trading_monitoring_report",
                 object_id=report.id, user=user, summary=summary)


def issue(*, report_id: int, verified: Decimal, verification: dict[str, Any],
          user: Any) -> MonitoringReport:
    """Issue the lot and the signed certificate, once (row lock + lot_id check)."""
    report = db.session.scalar(select(MonitoringReport).where(
        MonitoringReport.id == report_id).with_for_update())
    if report is None:
        raise CertificationError("监测报告不存在", field="report_id")
    if report.lot_id is not None or report.status == "certified":
        return report  # already issued: replaying the step changes nothing
    tonnes = certified_tonnes(verified)
    project = report.project
    report.certified_tonnes, report.certified_at = tonnes, utcnow()
    report.status = "certified"
    lot = None
    if tonnes > 0:
        lot = ledger.issue(project=project, vintage=report.period_end.year, quantity=tonnes,
                           to_account=ledger.holding_account(enterprise=project.enterprise),
                           reference=f"核证 {project.code} {period_label(report)}"[:200],
                           user=user)
        report.lot_id = lot.id
    doc_id = documents.new_id()
    pdf = render_pdf(report=report, project=project, lot=lot, verified=verified,
                     verification=verification, document_id=doc_id)
    doc = documents.create(kind=KIND, subject=documents.enterprise_subject(project.enterprise),
                           period=f"{report.period_start:%Y%m}-{report.period_end:%Y%m}"[:20],
                           pdf=pdf, title=f"{project.name} 减排量核证证书",
                           document_id=doc_id, trigger="reduction_certification",
                           source_key=f"report:{report.id}")
    report.document_id = doc.id
    db.session.flush()
    audit.record("trading.report.certified", object_type="trading_monitoring_report",
                 object_id=report.id, user=user,
                 summary={"verified": str(verified), "certified_tonnes": tonnes,
                          "rounding": "down", "lot": lot.id if lot else None,
                          "document": doc.id})
    return report


def render_pdf(*, report: MonitoringReport, project: Project, lot: Lot | None,
               verified: Decimal, verification: dict[str, Any], document_id: str) -> bytes:
    """The certificate: project, period, methodology, derivation summary, certified tonnes
    and their serial range (reportlab, CJK font embedded)."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from app.trading import methodologies
    from app.verification.statement import _font

    font = _font()
    base = ParagraphStyle("b", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("t", parent=base, fontSize=17, leading=24, alignment=1)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            title=f"{project.name} 减排量核证证书", author="碳效码平台",
                            invariant=1)
    spec = methodologies.get(project.methodology) or {}
    result = report.result or {}
    tonnes = report.certified_tonnes or 0
    serials = "—（不足 1 吨，未签发）"
    if lot is not None:
        serials = (f"{ledger.format_serial(project.code, lot.vintage, lot.serial_start)} 至 "
                   f"{ledger.format_serial(project.code, lot.vintage, lot.serial_end)}")
    story = [
        Paragraph(f"{project.name} 减排量核证证书", title), Spacer(1, 6 * mm),
        Paragraph(f"项目：{project.name}（{project.code}），业主 {project.enterprise.name}"
                  f"（统一社会信用代码 {project.enterprise_uscc}）", base),
        Paragraph(f"监测期：{period_label(report)}", base),
        Paragraph(f"方法学：{spec.get('name', project.methodology)}；公式 "
                  f"{spec.get('formula', '')}", base),
        Paragraph("依据：" + "；".join(spec.get("sources", [])), base), Spacer(1, 4 * mm)]
    rows = [["项目", "tCO2e"]]
    for key, label in (("baseline", "基准线排放 BE"), ("project", "项目排放 PE"),
                       ("leakage", "泄漏 LE"), ("reduction", "量化减排量 ER")):
        rows.append([label, f"{Decimal(str(result.get(key, 0))):,.4f}"])
    rows += [["核查减排量", f"{verified:,.4f}"],
             ["核证减排量（向下取整为整吨）", f"{tonnes:,}"]]
    table = Table(rows, colWidths=[90 * mm, 60 * mm])
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 10),
                               ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                               ("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    story += [table, Spacer(1, 4 * mm)]
    for line in [x for x in result.get("lines", []) if x.get("kind") == "term"][:12]:
        story.append(Paragraph(f"{line.get('name')}：{line.get('formula', '')}", base))
    reason = verification.get("correction_reason")
    story += [
        Spacer(1, 3 * mm),
        Paragraph(f"核查机构：{verification.get('body_code') or '—'}；核查意见："
                  f"{ {'qualified': '保留意见'}.get(verification.get('opinion'), '无保留意见') }"
                  + (f"；更正理由：{reason}" if reason else ""), base),
        Paragraph(f"碳资产序列号：{serials}", base), Spacer(1, 6 * mm),
        Paragraph(f"本证书由平台 SM2 私钥签名（SM3，默认用户标识）。文档编号 {document_id}；"
                  f"验证：{documents.verify_url(document_id)}", base)]
    doc.build(story)
    return out.getvalue()
