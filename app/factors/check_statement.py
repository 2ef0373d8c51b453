"""The factor check statement (6.4.3) as a signed document: a PDF (reportlab, like the
verification statement) in the document store, kind `factor_check_statement`, signed with
the assigned verification body's own SM2 key (certified by the platform key, made on first
use: `app.verification.statement.body_signer`), else the platform key.

It shows the factor version checked, the metrics (MAPE, bias, maximum error, tolerance,
pass/fail), the body's decision and the points compared; the verify URL is printed in it.
Anyone checks it at `/documents/<id>/verify`, `GET /api/v1/documents/{id}/verify`, or with
OpenSSL and the body's key from `/api/v1/keys/<key id>.pem`.
"""

from __future__ import annotations

import io
from typing import Any

from app.documents import service as documents
from app.documents.models import Document
from app.orgs.models import Enterprise, VerificationBody

KIND = "factor_check_statement"
MAX_POINTS = 60  # rows printed; the record keeps up to 500

BASIS = {"published": "已核查发布的月度排放", "accounts": "企业核算台账（未经核查）",
         "official_provincial_factors": "官方省级电力排放因子（生态环境部 / 国家统计局）"}


def _pct(value: Any) -> str:
    return f"{float(value):,.2f} %"


def _num(value: Any) -> str:
    return "—" if value is None else f"{float(value):,.3f}"


def render_pdf(*, statement: dict[str, Any], points: list[dict], subject_name: str,
               body: VerificationBody | None, document_id: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from app.verification.statement import _font

    font = _font()
    base = ParagraphStyle("b", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    title_style = ParagraphStyle("t", parent=base, fontSize=17, leading=24, alignment=1)
    title = f"{subject_name} 电碳因子第三方核验声明"
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            title=title, author=body.name if body else documents.ISSUER,
                            invariant=1)
    s = statement
    if s["subject"] == "enterprise":
        factor = (f"企业电碳因子 第 {s['factor_version']} 版：b = {s.get('slope')} tCO2/MWh，"
                  f"a = {s.get('intercept') or '—'} tCO2/月")
    else:
        factor = f"区域电网模拟因子（电网数据 {s['network_id']}）"
    verdict = "通过" if s["passed"] else "未通过"
    decision = {"confirm": "确认", "reject": "不予确认"}.get(s["body_decision"],
                                                            s["body_decision"])
    story = [
        Paragraph(title, title_style), Spacer(1, 6 * mm),
        Paragraph(f"核验机构：{body.name}（{body.code}，资质 {body.accreditation or '—'}）"
                  if body else "核验机构：—", base),
        Paragraph(f"核验对象：{subject_name}；{factor}", base),
        Paragraph(f"实测依据：{BASIS.get(s['basis'], s['basis'])}；比较点数 n = {s['n']}", base),
        Spacer(1, 3 * mm),
    ]
    metrics = Table([
        ["平均绝对百分比误差 MAPE", _pct(s["mape_pct"])],
        ["平均偏差 bias", _pct(s["bias_pct"])],
        ["最大误差 max error", _pct(s["max_error_pct"])],
        ["容差 tolerance", _pct(s["tolerance_pct"])],
        ["平台计算判定", "在容差内" if s["computed_pass"] else "超出容差"],
        ["核验机构意见", decision],
        ["结论", verdict],
    ], colWidths=[70 * mm, 60 * mm])
    metrics.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 10),
                                 ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                                 ("ALIGN", (1, 0), (1, -1), "RIGHT")]))
    story += [metrics, Spacer(1, 4 * mm)]
    if s.get("body_comment"):
        story.append(Paragraph(f"核验说明：{s['body_comment']}", base))
    rows = [["期间 / 节点", "电量（MWh）", "模拟值", "实测值", "误差"]]
    for p in points[:MAX_POINTS]:
        pred, meas = p.get("predicted"), p.get("measured")
        err = _pct(100 * (pred - meas) / meas) if pred is not None and meas else "—"
        rows.append([str(p.get("period") or p.get("name") or p.get("id")),
                     _num(p.get("mwh")), _num(pred), _num(meas), err])
    table = Table(rows, colWidths=[35 * mm, 32 * mm, 32 * mm, 32 * mm, 30 * mm], repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 9),
                               ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                               ("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    unit = "tCO2" if s["subject"] == "enterprise" else "tCO2/MWh"
    story += [Paragraph(f"比较点（模拟值与实测值单位 {unit}）"
                        + (f"，前 {MAX_POINTS} 个" if len(points) > MAX_POINTS else ""), base),
              table, Spacer(1, 6 * mm),
              Paragraph(f"本声明由{body.name if body else documents.ISSUER}以 SM2 私钥签名"
                        f"（SM3，默认用户标识）。文档编号 {document_id}；验证："
                        f"{documents.verify_url(document_id)}", base)]
    doc.build(story)
    return out.getvalue()


def issue(*, statement: dict[str, Any], points: list[dict], enterprise: Enterprise | None,
          network: Any, body: VerificationBody | None) -> Document:
    """Store and sign the statement (a new version of the same subject supersedes)."""
    from app.verification.statement import body_signer

    document_id = documents.new_id()
    if enterprise is not None:
        subject = documents.enterprise_subject(
            enterprise, verification_body=body.code if body else None)
        name = enterprise.name
    else:
        name = f"{network.title}（{network.year}）"
        subject = documents.Subject(type="regional_network", id=str(network.id), name=name,
                                    region_code=statement.get("region_code"),
                                    verification_body=body.code if body else None)
    pdf = render_pdf(statement=statement, points=points, subject_name=name, body=body,
                     document_id=document_id)
    return documents.create(
        kind=KIND, subject=subject, period=statement["signed_at"][:10], pdf=pdf,
        signer=body_signer(body.code) if body else None,
        title=f"{name} 电碳因子第三方核验声明", document_id=document_id,
        issuer=body.name if body else None, trigger="factor_check")
