"""Fonts, styles, number formats and the page frame shared by every report: the CJK font
embedded and subset, `wordWrap='CJK'`, a header with the subject and period, page numbers
"第 x 页 / 共 y 页" and the verification QR code on every page."""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing, Group
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas

from app.web.filters import UNIT_DECIMALS

#: Debian fonts-wqy-microhei (Apache-2.0 / GPLv3 with font exception); override with
#: CECP_REPORT_FONT. Registered as a TrueType font so it is embedded and subset.
DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT = "WQYMicroHei"
PAGE = A4
MARGIN = 18 * mm


def font_path() -> str:
    return os.environ.get("CECP_REPORT_FONT") or DEFAULT_FONT


def register_font() -> str:
    """Register the CJK font once per process; LookupError when it is not installed."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    path = font_path()
    if not os.path.exists(path):
        raise LookupError(
            f"报告字体不存在: {path}（安装 fonts-wqy-microhei 或设置 CECP_REPORT_FONT）"
        )
    pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
    return FONT


def styles() -> dict[str, ParagraphStyle]:
    register_font()
    base = ParagraphStyle("base", fontName=FONT, fontSize=9.5, leading=14, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10.5),
        "h1": ParagraphStyle(
            "h1", parent=base, fontSize=14, leading=20, spaceBefore=8, spaceAfter=6
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=11.5, leading=16, spaceBefore=6, spaceAfter=4
        ),
        "title": ParagraphStyle(
            "title", parent=base, fontSize=17, leading=26, alignment=TA_CENTER, spaceAfter=18
        ),
        "center": ParagraphStyle("center", parent=base, alignment=TA_CENTER),
    }


TABLE_STYLE = [
    ("FONT", (0, 0), (-1, -1), FONT, 8),
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6eef5")),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("TOPPADDING", (0, 0), (-1, -1), 2),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
]


def fmt(value: Any, unit: str = "", decimals: int | None = None, empty: str = "—") -> str:
    """Thousands separators and the decimals the unit deserves (app.web.filters rules)."""
    if value is None or value == "":
        return empty
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    places = UNIT_DECIMALS.get(unit, 2) if decimals is None else decimals
    return f"{d:,.{places}f}"


def with_unit(value: Any, unit: str) -> str:
    text = fmt(value, unit)
    return text if text == "—" else f"{text} {unit}"


@lru_cache(maxsize=8)
def _qr_group(url: str) -> Group:
    """The code's squares, encoded once: the widget re-encodes (eight mask trials) for its
    bounds and again for every drawing, and a report draws the same code twice."""
    return QrCodeWidget(url, barLevel="M").draw()


def qr_drawing(url: str, size: float) -> Drawing:
    group = _qr_group(url)
    x0, y0, x1, y1 = group.getBounds()
    d = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    d.initialFontName = FONT  # else the renderer selects an unembedded Helvetica
    d.add(group)
    return d


def numbered_canvas(*, header: str, verify_url: str, document_id: str):
    """A canvas class that draws the header, the QR code and "第 x 页 / 共 y 页" on every
    page once the page count is known (two-pass numbering, one rendering)."""
    qr = qr_drawing(verify_url, 17 * mm)

    class NumberedCanvas(rl_canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("invariant", 1)
            kwargs["initialFontName"] = FONT  # no unembedded Helvetica
            super().__init__(*args, **kwargs)
            self._saved: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            w, h = PAGE
            self.saveState()
            self.setFont(FONT, 8)
            self.setFillColor(colors.HexColor("#4a5560"))
            self.drawString(MARGIN, h - 12 * mm, header)
            self.drawRightString(w - MARGIN, h - 12 * mm, "工业碳效码平台 · 温室气体排放报告")
            self.setStrokeColor(colors.HexColor("#9aa5b1"))
            self.line(MARGIN, h - 13.5 * mm, w - MARGIN, h - 13.5 * mm)
            self.drawCentredString(w / 2, 10 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")
            if not getattr(self, "_cecp_qr", False):  # encoded and drawn once: a Form XObject
                self.beginForm("cecpVerifyQR")
                renderPDF.draw(qr, self, 0, 0)
                self.endForm()
                self._cecp_qr = True
            self.saveState()
            self.translate(w - MARGIN - 17 * mm, 4 * mm)
            self.doForm("cecpVerifyQR")
            self.restoreState()
            self.setFont(FONT, 6.5)
            self.drawRightString(w - MARGIN - 18 * mm, 9 * mm, "扫码验证")
            self.drawRightString(w - MARGIN - 18 * mm, 6 * mm, f"文档编号 {document_id}")
            self.restoreState()

    return NumberedCanvas
