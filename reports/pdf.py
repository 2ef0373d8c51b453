"""The enterprise carbon accounting report as a PDF, in the structure of GB/T 32150-2015
(clause 8 and annex): cover, enterprise and boundary, method and factor sources, summary,
one table per source, monthly table and chart, previous-year comparison, data quality,
appendix with every derivation line. Pure layout: `reports.data.collect` reads the data."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.web.filters import BEIJING
from reports.charts import monthly_by_source
from reports.data import SOURCE_LABELS, SOURCES
from reports.layout import (
    FONT,
    MARGIN,
    PAGE,
    TABLE_STYLE,
    fmt,
    numbered_canvas,
    qr_drawing,
    styles,
    with_unit,
)

TRIGGERS = {
    "submitted": "报告提交审核时自动生成",
    "published": "报告公示发布时自动生成",
    "accounts_changed": "核算数据更新后自动生成",
    "manual": "按需生成",
}


def _p(text: Any, style) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _table(
    rows: list[list[Any]],
    widths: list[float],
    st,
    *,
    align_right_from: int = 1,
    total_row: bool = False,
) -> Table:
    cells = [[c if not isinstance(c, str) else _p(c, st["cell"]) for c in r] for r in rows]
    t = Table(cells, colWidths=widths, repeatRows=1)
    style = list(TABLE_STYLE)
    if total_row:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f6f9")))
    t.setStyle(TableStyle(style))
    return t


def _num(value: Any, unit: str, st, decimals: int | None = None) -> Paragraph:
    return Paragraph(escape(fmt(value, unit, decimals)), _right(st))


def _right(st):
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    if "right" not in st:
        st["right"] = ParagraphStyle("right", parent=st["cell"], alignment=TA_RIGHT)
    return st["right"]


def _pct(part: Decimal, whole: Decimal) -> str:
    return "—" if not whole else f"{part / whole * 100:,.1f}%"


def _change(now: Any, before: Any) -> str:
    if now is None or before in (None, 0) or Decimal(before) == 0:
        return "—"
    return f"{(Decimal(now) - Decimal(before)) / abs(Decimal(before)) * 100:+,.1f}%"


def _cover(data: dict, ctx: dict, st) -> list:
    ent = data["enterprise"]
    title = f"《{ent['name']} {data['year']}年度 温室气体排放报告》"
    rows = [
        ["统一社会信用代码", ent["uscc"]],
        ["所属行业（GB/T 4754-2017）", f"{ent['industry_name']}（{ent['industry_code'] or '—'}）"],
        ["所在地区（GB/T 2260）", ent["region_name"]],
        ["报告期", data["period"]],
        ["报告日期", ctx["date"]],
        ["生成原因", TRIGGERS.get(ctx.get("trigger") or "manual", ctx.get("trigger"))],
        ["核查状态", data["verification"]["label"]],
        ["文档编号", ctx["document_id"]],
    ]
    seal = Table(
        [
            [_p("工业碳效码平台　电子签章", st["h2"])],
            [
                _p(
                    "本报告由工业碳效码平台根据企业报送的数据自动生成，并以平台 SM2 私钥对"
                    "全文进行数字签名（SM3 摘要，用户标识 1234567812345678，签名密钥 "
                    f"{ctx['signer_key_id']}）。扫描二维码或访问下方地址可核对签发方、主体、"
                    "期间、摘要与有效状态；也可使用公布的平台公钥以 OpenSSL 独立验证。",
                    st["small"],
                )
            ],
        ],
        colWidths=[95 * mm],
    )
    seal.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8),
                ("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor("#b8473e")),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    qr = qr_drawing(ctx["verify_url"], 38 * mm)
    block = Table([[seal, qr]], colWidths=[110 * mm, 45 * mm])
    block.setStyle(
        TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    )
    return [
        Spacer(1, 28 * mm),
        _p(title, st["title"]),
        Spacer(1, 8 * mm),
        _table([["项目", "内容"], *rows], [55 * mm, 115 * mm], st),
        Spacer(1, 14 * mm),
        block,
        Spacer(1, 3 * mm),
        _p(f"验证地址：{ctx['verify_url']}", st["small"]),
        PageBreak(),
    ]


def _boundary(data: dict, st) -> list:
    ent = data["enterprise"]
    out = [
        _p("一、企业基本信息与核算边界", st["h1"]),
        _p(
            f"报告主体为{ent['name']}（统一社会信用代码 {ent['uscc']}），所属行业为"
            f"{ent['industry_name']}，位于{ent['region_name']}。核算边界为企业法人边界，"
            "包括主要生产系统、辅助生产系统和附属生产系统，核算化石燃料燃烧、工业生产过程、"
            "净购入电力和热力产生的二氧化碳排放，并扣减输出的电力和热力；生物质燃烧产生的"
            "二氧化碳单独报告，不计入排放总量。",
            st["body"],
        ),
        _p("二、核算方法与排放因子来源", st["h1"]),
        _p(
            f"核算方法：GB/T 32150-2015《工业企业温室气体排放核算和报告通则》；行业标准："
            f"{data['guideline']}。燃料燃烧排放 = 活动数据 × 低位发热量 × 单位热值含碳量 × "
            "碳氧化率 × 44/12；过程排放、电力和热力排放 = 活动数据 × 排放因子。",
            st["body"],
        ),
        Spacer(1, 2 * mm),
    ]
    rows = [["因子", "版本", "数值", "单位", "年份", "来源"]]
    for f in data["factors"]:
        rows.append(
            [
                f["code"],
                str(f["version"]),
                _num(f["value"], "", st),
                f["unit"] or "—",
                str(f["year"] or "—"),
                f["source"] or "未注明来源（待核实）",
            ]
        )
    if len(rows) == 1:
        rows.append(["—", "", "", "", "", "本年度未使用因子库缺省值"])
    out.append(_table(rows, [36 * mm, 10 * mm, 18 * mm, 24 * mm, 11 * mm, 75 * mm], st))
    return out


def _summary(data: dict, st) -> list:
    t = data["totals"]
    total = t["co2_total"]
    rows = [["排放源", "排放量（tCO2）", "占总量"]]
    for s in SOURCES:
        v = data["by_source"][s]
        signed = -v if s.endswith("_exported") else v
        rows.append([SOURCE_LABELS[s], _num(signed, "tCO2", st), _pct(signed, total)])
    rows.append(["排放总量 E", _num(total, "tCO2", st), "100.0%"])
    rows.append(["生物质燃烧（单列，不计入总量）", _num(t["co2_biomass"], "tCO2", st), "—"])
    out = [
        _p("三、排放汇总", st["h1"]),
        _table(rows, [80 * mm, 45 * mm, 30 * mm], st, total_row=False),
        Spacer(1, 3 * mm),
    ]
    code, tier = data["code"], data["tier"]
    grade = "—"
    if code is not None:
        grade = (
            f"{code['grade_label'] or code['grade']}"
            if code["graded"]
            else f"不评级（{code['reason'] or '原因未注明'}）"
        )
    ind = [
        ["指标", "数值"],
        ["综合能源消费量", with_unit(t["energy_tce"], "tce")],
        ["工业总产值", with_unit(t["gross_output"], "万元")],
        ["工业增加值", with_unit(t["value_added"], "万元")],
        ["碳排放强度（排放总量 / 工业增加值）", with_unit(t["intensity"], "tCO2/万元")],
        ["单位产值能耗", with_unit(t["energy_per_output"], "tce/万元")],
        ["碳效值 K", fmt(code["k_value"], "K") if code else "尚未签发碳效码"],
        ["行业基准强度", with_unit(code["benchmark_intensity"], "tCO2/万元") if code else "—"],
        ["碳效等级", grade],
        ["分档结果", (tier["grade_label"] or tier["grade"] or "—") if tier else "—"],
        ["报告月份数", f"{t['months']} 个月"],
    ]
    out.append(_table(ind, [80 * mm, 75 * mm], st))
    return out


def _source_tables(data: dict, st) -> list:
    out = [_p("四、分排放源核算", st["h1"])]
    heads = [
        "能源/物料",
        "活动数据",
        "低位发热量",
        "单位热值含碳量",
        "碳氧化率",
        "排放因子",
        "排放量（tCO2）",
        "参数来源",
    ]
    widths = [22 * mm, 24 * mm, 16 * mm, 17 * mm, 13 * mm, 17 * mm, 21 * mm, 44 * mm]
    for bucket in (*SOURCES, "biomass"):
        rows = data["tables"].get(bucket)
        if not rows:
            continue
        body = [heads]
        for r in rows:
            body.append(
                [
                    r["name"],
                    f"{fmt(r['amount'], '', 2)} {r['unit']}",
                    _num(r["ncv"], "", st, 3) if r["ncv"] is not None else "—",
                    _num(r["carbon_content"], "", st, 5)
                    if r["carbon_content"] is not None
                    else "—",
                    _num(r["oxidation_rate"], "", st, 3)
                    if r["oxidation_rate"] is not None
                    else "—",
                    _num(r["ef"], "", st, 4),
                    _num(r["co2"], "tCO2", st),
                    r["origin"],
                ]
            )
        body.append(
            [
                "合计",
                "",
                "",
                "",
                "",
                "",
                _num(sum((r["co2"] for r in rows), Decimal(0)), "tCO2", st),
                "",
            ]
        )
        out.append(
            KeepTogether(
                [_p(f"{SOURCE_LABELS[bucket]}", st["h2"]), _table(body, widths, st, total_row=True)]
            )
        )
    out.append(
        _p(
            "说明：活动数据 × 参数 = 排放量；燃料燃烧 = 活动数据 × 低位发热量 × 单位热值含碳量 "
            "× 碳氧化率 × 44/12。输出电力和热力从总量中扣减。",
            st["small"],
        )
    )
    return out


def _monthly(data: dict, st, charts: bool) -> list:
    short = {
        "combustion": "燃烧",
        "process": "过程",
        "electricity": "购入电",
        "heat": "购入热",
        "electricity_exported": "输出电",
        "heat_exported": "输出热",
    }
    rows = [["月份", *[short[s] for s in SOURCES], "总量", "生物质", "能耗（tce）", "版本"]]
    for m in data["monthly"]:
        rows.append(
            [
                f"{m['month']}月",
                *[_num(m["by_source"][s], "tCO2", st) for s in SOURCES],
                _num(m["co2_total"], "tCO2", st),
                _num(m["co2_biomass"], "tCO2", st),
                _num(m["energy_tce"], "tce", st),
                f"v{m['version']} {m['status_label']}",
            ]
        )
    out = [
        _p("五、月度排放与上年对比", st["h1"]),
        _p("单位：tCO2", st["small"]),
        _table(rows, [11 * mm, *[17 * mm] * 6, 19 * mm, 14 * mm, 17 * mm, 20 * mm], st),
    ]
    if charts:
        out += [Spacer(1, 3 * mm), monthly_by_source(data["monthly"], SOURCES, SOURCE_LABELS)]
    prev = data["previous"]
    out.append(_p("与上年对比", st["h2"]))
    if prev is None:
        out.append(_p(f"{data['year'] - 1} 年没有核算结果，无法对比。", st["body"]))
        return out
    t = data["totals"]
    comp = [
        ["指标", f"{data['year']} 年", f"{prev['year']} 年", "变化"],
        [
            "排放总量（tCO2）",
            _num(t["co2_total"], "tCO2", st),
            _num(prev["co2_total"], "tCO2", st),
            _change(t["co2_total"], prev["co2_total"]),
        ],
        [
            "综合能耗（tce）",
            _num(t["energy_tce"], "tce", st),
            _num(prev["energy_tce"], "tce", st),
            _change(t["energy_tce"], prev["energy_tce"]),
        ],
        [
            "工业增加值（万元）",
            _num(t["value_added"], "万元", st),
            _num(prev["value_added"], "万元", st),
            _change(t["value_added"], prev["value_added"]),
        ],
        [
            "碳排放强度（tCO2/万元）",
            _num(t["intensity"], "tCO2/万元", st),
            _num(prev["intensity"], "tCO2/万元", st),
            _change(t["intensity"], prev["intensity"]),
        ],
    ]
    for s in SOURCES:
        if data["by_source"][s] or prev["by_source"][s]:
            comp.append(
                [
                    f"{SOURCE_LABELS[s]}（tCO2）",
                    _num(data["by_source"][s], "tCO2", st),
                    _num(prev["by_source"][s], "tCO2", st),
                    _change(data["by_source"][s], prev["by_source"][s]),
                ]
            )
    out.append(_table(comp, [62 * mm, 36 * mm, 36 * mm, 26 * mm], st))
    if prev["months"] != t["months"]:
        out.append(
            _p(
                f"注意：上年有 {prev['months']} 个月的数据，本年有 {t['months']} 个月。",
                st["small"],
            )
        )
    return out


def _quality(data: dict, st) -> list:
    out = [_p("六、数据质量", st["h1"]), _p("（一）数据自检结果", st["h2"])]
    sc = data["selfcheck"]
    if sc is None:
        out.append(_p("未运行自检。", st["body"]))
    else:
        verdict = {True: "通过", False: "未通过", None: "未能运行"}[sc["passed"]]
        out.append(_p(f"自检结论：{verdict}。", st["body"]))
        rows = [["类别", "说明"]]
        for label, key in (("错误", "errors"), ("提示", "warnings"), ("说明", "notes")):
            rows += [
                [label, item.get("message", str(item)) if isinstance(item, dict) else str(item)]
                for item in sc.get(key) or []
            ]
        if len(rows) == 1:
            rows.append(["—", "未发现问题"])
        out.append(_table(rows, [20 * mm, 150 * mm], st))
    out.append(_p("（二）各月数据来源", st["h2"]))
    rows = [["月份", "数据来源", "修订次数", "最后更新（北京时间）", "核算版本"]]
    for m in data["monthly"]:
        src = data["record_sources"].get(m["month"]) or {}
        updated = src.get("updated_at")
        rows.append(
            [
                f"{m['month']}月",
                src.get("source", "—"),
                str(src.get("revision", "—")),
                updated.replace(tzinfo=UTC).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
                if updated
                else "—",
                f"v{m['version']}（{m['status_label']}）",
            ]
        )
    out.append(_table(rows, [18 * mm, 45 * mm, 20 * mm, 45 * mm, 42 * mm], st))
    out += [_p("（三）核查状态", st["h2"]), _p(data["verification"]["label"], st["body"])]
    return out


def _appendix(data: dict, st) -> list:
    out = [PageBreak(), _p("附录　核算推导明细", st["h1"])]
    for d in data["derivations"]:
        out.append(_p(f"{d['period']}（核算版本 v{d['version']}）　{d['formula']}", st["h2"]))
        rows = [["能源/物料", "排放源", "推导", "参数来源"]]
        rows += [[n, b, f, o or "—"] for n, b, f, o in d["lines"]]
        out.append(_table(rows, [25 * mm, 33 * mm, 90 * mm, 22 * mm], st))
    return out


def render(
    data: dict[str, Any],
    *,
    document_id: str,
    verify_url: str,
    signer_key_id: str = "platform",
    trigger: str | None = None,
    charts: bool = True,
    now: datetime | None = None,
) -> tuple[bytes, int]:
    """The report PDF and its page count."""
    st = styles()
    date = (now or datetime.now(UTC)).astimezone(BEIJING).strftime("%Y年%m月%d日")
    ctx = {
        "document_id": document_id,
        "verify_url": verify_url,
        "date": date,
        "signer_key_id": signer_key_id,
        "trigger": trigger,
    }
    ent = data["enterprise"]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=20 * mm,
        bottomMargin=24 * mm,
        title=f"{ent['name']} {data['year']}年度 温室气体排放报告",
        author="工业碳效码平台",
        subject=f"{ent['uscc']} {data['year']}",
        creator="cecp reports",
        initialFontName=FONT,
    )
    story = [
        *_cover(data, ctx, st),
        *_boundary(data, st),
        *_summary(data, st),
        *_source_tables(data, st),
        *_monthly(data, st, charts),
        *_quality(data, st),
        *_appendix(data, st),
    ]
    canvas_cls = numbered_canvas(
        header=f"{ent['name']}（{ent['uscc']}）· {data['period']}",
        verify_url=verify_url,
        document_id=document_id,
    )
    doc.build(story, canvasmaker=canvas_cls)
    pdf = buf.getvalue()
    return pdf, doc.page
