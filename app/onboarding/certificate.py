"""The carbon efficiency grade certificate (碳效等级证明): a PDF in the document store, kind
`grade_certificate`, signed with the platform's SM2 key, that a bank with the enterprise's
consent (item `grade`) — or the enterprise itself — can fetch for a green loan.

It states the enterprise (name, USCC), the year, the grade and its code colour, the benchmark
the grade rests on (`codes.benchmark_for`: the industry and area average intensity and the
number of peers), the figures (CO2, value added, intensity, K), when it was issued and as of
which code issue it holds (Beijing time), and the public verify URL. The same figures give
the same document; a changed grade (or figure) makes a new version that supersedes the old
one (the document store's versions of (kind, enterprise, year)). No commits here.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.accounting import codes
from app.accounting.models import CarbonCode
from app.documents import service as documents
from app.documents.models import Document
from app.extensions import db
from app.orgs.models import Enterprise

KIND = "grade_certificate"
BEIJING = ZoneInfo("Asia/Shanghai")


class CertificateError(LookupError):
    """No annual code to certify (404 naming the year)."""


def _bj(ts: datetime | None) -> str:
    if ts is None:
        return "—"
    return ts.replace(tzinfo=UTC).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _n(value: Any, places: int = 2) -> str:
    return "—" if value is None else f"{Decimal(str(value)):,.{places}f}"


def code_for(*, enterprise: Enterprise, year: int | None = None) -> CarbonCode:
    """The current annual carbon efficiency code (K scheme) of the year, else the latest."""
    stmt = select(CarbonCode).where(
        CarbonCode.enterprise_id == enterprise.id, CarbonCode.is_current.is_(True),
        CarbonCode.period_type == "year", CarbonCode.scheme_id == codes.DEFAULT_SCHEMES[0])
    if year is not None:
        stmt = stmt.where(CarbonCode.year == year)
    code = db.session.scalar(stmt.order_by(CarbonCode.year.desc()).limit(1))
    if code is None:
        raise CertificateError(f"{enterprise.name}{f' {year} 年' if year else ''}尚无年度碳效码")
    return code


def _colour_name(code: CarbonCode) -> str:
    sch = codes.schemes().get(code.scheme_id)
    for t in getattr(sch, "thresholds", ()):
        if t.grade == code.grade:
            return t.colour_name or t.colour
    return code.colour or "—"


def _fingerprint(code: CarbonCode, bench: Any) -> str:
    parts = [code.period_key, code.graded, code.grade, code.co2, code.value_added,
             code.intensity, code.k_value, code.benchmark_intensity, code.peers,
             getattr(bench, "id", None)]
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def facts(*, enterprise: Enterprise, code: CarbonCode) -> dict[str, Any]:
    bench = codes.benchmark_for(enterprise=enterprise, period_key=code.period_key)
    return {"name": enterprise.name, "uscc": enterprise.uscc, "year": code.year,
            "period": code.period_key, "graded": code.graded,
            "grade": code.grade_label if code.graded else "未评级",
            "colour": _colour_name(code) if code.graded else "—", "reason": code.reason,
            "co2_t": code.co2, "value_added": code.value_added, "intensity": code.intensity,
            "k_value": code.k_value, "benchmark_intensity": code.benchmark_intensity,
            "peers": code.peers, "area_code": code.area_code,
            "industry_code": code.industry_code, "scheme": code.scheme_id,
            "scheme_version": code.scheme_version, "code_issued_at": code.issued_at,
            "benchmark": bench}


def render_pdf(*, f: dict[str, Any], document_id: str, issued_at: datetime) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from app.verification.statement import _font

    font = _font()
    base = ParagraphStyle("b", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("t", parent=base, fontSize=18, leading=26, alignment=1)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            title=f"{f['name']} {f['year']} 年度碳效等级证明",
                            author=documents.ISSUER, invariant=1)
    from app.web.filters import industry_name, region_name

    b = f["benchmark"]
    industry = industry_name(f["industry_code"]) or "—"
    bench = (f"{industry}（{f['industry_code'] or '—'}）行业在{region_name(f['area_code'])}"
             f"（{f['area_code']}）的 {f['period']} 年度"
             f"平均碳排放强度 {_n(f['benchmark_intensity'], 4)} tCO2/万元"
             f"（{f['peers'] or (b.enterprises if b else '—')} 家可比企业"
             + (f"；行业 CO2 {_n(b.co2_total)} t，增加值 {_n(b.value_added_total)} 万元"
                if b else "") + "）")
    rows = [
        ["企业名称", f["name"]],
        ["统一社会信用代码", f["uscc"]],
        ["年度", str(f["year"])],
        ["碳效等级", f["grade"]],
        ["碳效码颜色", f["colour"]],
        ["碳效值 K", _n(f["k_value"], 4)],
        ["二氧化碳排放量", f"{_n(f['co2_t'])} tCO2"],
        ["工业增加值", f"{_n(f['value_added'])} 万元"],
        ["碳排放强度", f"{_n(f['intensity'], 4)} tCO2/万元"],
        ["评价基准", bench],
        ["评级方案", f"{getattr(codes.schemes().get(f['scheme']), 'name', f['scheme'])}"
                     f" v{f['scheme_version']}"],
        ["碳效码发放时间", f"{_bj(f['code_issued_at'])}（北京时间）"],
        ["本证明签发时间", f"{_bj(issued_at)}（北京时间）"],
    ]
    if not f["graded"]:
        rows.insert(4, ["未评级原因", f["reason"] or "—"])
    table = Table([[Paragraph(a, base), Paragraph(str(v), base)] for a, v in rows],
                  colWidths=[40 * mm, 130 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [
        Paragraph(f"{f['name']} {f['year']} 年度碳效等级证明", title), Spacer(1, 6 * mm),
        table, Spacer(1, 5 * mm),
        Paragraph("碳效值 K = 企业单位增加值碳排放量 ÷ 所处行业同期单位增加值碳排放量平均值"
                  "（GB/T 32150-2015 核算）。本证明所载等级以签发时的现行碳效码为准，"
                  f"截至 {_bj(f['code_issued_at'])}（北京时间）有效；如等级变化，平台签发新"
                  "版本，旧版本在验证页显示为已被取代。", base),
        Spacer(1, 4 * mm),
        Paragraph(f"本证明由{documents.ISSUER}以平台 SM2 私钥签名（SM3，默认用户标识）。"
                  f"文档编号 {document_id}；验证：{documents.verify_url(document_id)}", base),
    ]
    doc.build(story)
    return out.getvalue()


def issue(*, enterprise: Enterprise, year: int | None = None, trigger: str) -> Document:
    """The current certificate of the year's code: the same one while the figures hold,
    else a new signed version (which supersedes the previous)."""
    code = code_for(enterprise=enterprise, year=year)
    f = facts(enterprise=enterprise, code=code)
    key = _fingerprint(code, f["benchmark"])
    found = db.session.scalar(select(Document).where(
        Document.kind == KIND, Document.subject_type == "enterprise",
        Document.subject_id == enterprise.uscc, Document.period == str(code.year),
        Document.status == "ready", Document.superseded_by.is_(None),
        Document.source_key == key))
    if found is not None:
        return found
    document_id = documents.new_id()
    from app.db import utcnow

    pdf = render_pdf(f=f, document_id=document_id, issued_at=utcnow())
    return documents.create(
        kind=KIND, subject=documents.enterprise_subject(enterprise), period=str(code.year),
        pdf=pdf, title=f"{enterprise.name} {code.year} 年度碳效等级证明",
        document_id=document_id, trigger=trigger, source_key=key)


def as_json(doc: Document) -> dict[str, Any]:
    return {"document_id": doc.id, "kind": doc.kind, "period": doc.period,
            "version": doc.version, "title": doc.title, "sm3": doc.sm3,
            "signer_key_id": doc.signer_key_id,
            "signed_at": documents.iso(doc.signed_at),
            "verify_url": documents.verify_url(doc.id),
            "verify_api": f"/api/v1/documents/{doc.id}/verify"}
