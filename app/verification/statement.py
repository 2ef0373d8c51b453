"""The verification statement: a PDF written by a job (never inside a request), stored and
signed in the platform's document store (`app.documents`, kind `verification_statement`)
with the verification body's own SM2 key (`signing.org_key`, made on first use and
certified by the platform key), then returned to the verification case (message
`statement_signed`), which returns it to the report case.

Anyone can check a statement: `/documents/<id>/verify` (the QR code / link printed in it),
`GET /api/v1/documents/{id}/verify`, and OpenSSL with the body's published key
(`/api/v1/keys/<key id>.pem`):
``openssl pkeyutl -verify -pubin -inkey body.pem -rawin -digest sm3
-pkeyopt distid:1234567812345678 -in statement.pdf -sigfile statement.sig``.
"""

from __future__ import annotations

import io
import json
import os
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.crypto import signing
from app.db import new_uid
from app.documents import service as documents
from app.extensions import db
from app.jobs.registry import job
from app.orgs.models import Enterprise, VerificationBody
from app.verification import rules
from app.verification.models import Statement, Verification

KIND = "verification_statement"
OWNER = "verification_body"

FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
)
_FONT = "CecpCJK"


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT in pdfmetrics.getRegisteredFontNames():
        return _FONT
    for path in (os.environ.get("CECP_PDF_FONT"), *FONT_PATHS):
        if path and os.path.exists(path):
            pdfmetrics.registerFont(TTFont(_FONT, path, subfontIndex=0))
            return _FONT
    raise RuntimeError("找不到中文字体（fonts-wqy-microhei），无法生成核查声明")


def _num(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"


def render_pdf(
    *,
    v: Verification,
    body: VerificationBody,
    enterprise: Enterprise,
    conclusion: dict[str, Any],
    document_id: str,
) -> bytes:
    """The statement's PDF (reportlab, CJK font embedded and subset, wordWrap CJK)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    base = ParagraphStyle("b", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("t", parent=base, fontSize=17, leading=24, alignment=1)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        title=f"{enterprise.name} {v.year}年度温室气体排放核查声明",
        author=body.name,
        invariant=1,
    )
    level = rules.LEVELS.get(v.level or "", v.level or "")
    opinion = rules.OPINIONS.get(v.opinion or "", v.opinion or "")
    story = [
        Paragraph(f"{enterprise.name} {v.year}年度温室气体排放核查声明", title),
        Spacer(1, 6 * mm),
        Paragraph(f"核查机构：{body.name}（{body.code}，资质 {body.accreditation or '—'}）", base),
        Paragraph(f"被核查企业：{enterprise.name}（统一社会信用代码 {enterprise.uscc}）", base),
        Paragraph(
            f"核查依据：ISO 14064-3、GB/T 32150-2015；保证等级：{level}；"
            f"实质性阈值：{v.materiality_pct} %",
            base,
        ),
        Paragraph(f"核查意见：<b>{opinion}</b>", base),
        Spacer(1, 4 * mm),
    ]
    rows = [["排放源", "报告值（tCO2）", "核查值（tCO2）", "差异（tCO2）"]]
    for r in conclusion["rows"]:
        rows.append([r["label"], _num(r["reported"]), _num(r["verified"]), _num(r["difference"])])
    rows.append(
        [
            "合计",
            _num(conclusion["reported_total"]),
            _num(conclusion["verified_total"]),
            _num(conclusion["difference"]),
        ]
    )
    table = Table(rows, colWidths=[45 * mm, 40 * mm, 40 * mm, 40 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 10),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 4 * mm),
        Paragraph(
            f"差异率 {conclusion['difference_pct']} %，"
            + ("超过" if conclusion["material"] else "未超过")
            + f"实质性阈值 {conclusion['materiality_pct']} %。",
            base,
        ),
        Paragraph(f"差异原因：{v.difference_reasons or '无差异'}", base),
        Spacer(1, 6 * mm),
        Paragraph(
            f"本声明由{body.name}以其 SM2 私钥签名（SM3，默认用户标识），公钥经平台"
            f"密钥认证。文档编号 {document_id}；验证："
            f"{documents.verify_url(document_id)}",
            base,
        ),
    ]
    doc.build(story)
    return out.getvalue()


def body_signer(body_code: str) -> signing.Signer:
    """The body's own key (made and certified by the platform key on first use)."""
    return signing.org_key(owner_type=OWNER, owner_id=body_code) or signing.create_org_key(
        owner_type=OWNER, owner_id=body_code
    )


def issue(*, verification_id: int, statement_uid: str) -> Statement:
    """Write the statement, store and sign it as a document (idempotent on its uid)."""
    found = db.session.scalar(select(Statement).where(Statement.uid == statement_uid))
    if found is not None:
        return found
    v = db.session.get(Verification, verification_id)
    if v is None or not v.body_code:
        raise LookupError(f"核查案件 {verification_id} 不存在或未指派核查机构")
    body = db.session.scalar(select(VerificationBody).where(VerificationBody.code == v.body_code))
    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == v.enterprise_uscc))
    conclusion = json.loads(v.verified or "{}")
    document_id = documents.new_id()
    pdf = render_pdf(v=v, body=body, enterprise=ent, conclusion=conclusion, document_id=document_id)
    doc = documents.create(
        kind=KIND,
        subject=documents.enterprise_subject(ent, verification_body=body.code),
        period=str(v.year),
        pdf=pdf,
        signer=body_signer(body.code),
        title=f"{ent.name} {v.year}年度温室气体排放核查声明",
        document_id=document_id,
        issuer=body.name,
        trigger="verification",
    )
    row = Statement(
        uid=statement_uid,
        verification_id=v.id,
        report_instance_id=v.report_instance_id,
        body_code=body.code,
        enterprise_uscc=ent.uscc,
        region_code=ent.region_code,
        year=v.year,
        opinion=v.opinion or "",
        level=v.level or "",
        verified_total=conclusion.get("verified_total", "0"),
        document_id=doc.id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "verification.statement.sign",
        object_type="verification_statement",
        object_id=row.id,
        email="system",
        summary={
            "verification": v.id,
            "body": body.code,
            "document": doc.id,
            "key": doc.signer_key_id,
            "sm3": doc.sm3,
            "opinion": row.opinion,
        },
    )
    return row


def new_statement_uid() -> str:
    return new_uid()


@job("verification.issue_statement")
def issue_job(verification_id: int, instance_id: int, statement_uid: str) -> None:
    """Job: sign the statement, then tell the verification case it is signed (the runner
    commits both together)."""
    from app.accounting import service as accounting
    from app.verification.service import mark_completed
    from app.workflow import events

    row = issue(verification_id=verification_id, statement_uid=statement_uid)
    v = db.session.get(Verification, verification_id)
    if v.status != "completed":
        mark_completed(v=v)
        ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == v.enterprise_uscc))
        periods = [
            v.year * 100 + int(m)
            for m in json.loads(v.corrected or v.reported or "{}").get("accounts", {})
        ]
        if periods and v.opinion != "adverse":  # verified figures are frozen as such
            accounting.freeze(
                enterprise_id=ent.id,
                periods=periods,
                status="verified",
                user_email="system",
                note=f"核查声明 {row.uid}",
            )
    events.deliver(
        message={
            "name": "statement_signed",
            "payload": {"case_id": instance_id, "statement_uid": row.uid, "statement_id": row.id},
        }
    )


def get_by_uid(uid: str) -> Statement | None:
    return db.session.scalar(select(Statement).where(Statement.uid == uid))


def check(row: Statement | None) -> dict[str, Any]:
    """The document store's verdict on the statement's PDF (digests, the body's signature,
    the signed facts, the key certified by the platform) with the statement's facts."""
    if row is None:
        return {"valid": False, "status": "invalid", "reason": "声明不存在"}
    result = documents.verify(document_id=row.document_id)
    return {
        **result,
        "body": row.body_code,
        "enterprise": row.enterprise_uscc,
        "year": row.year,
        "opinion": row.opinion,
        "level": row.level,
        "verified_total": row.verified_total,
        "document_id": row.document_id,
    }
