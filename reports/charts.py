"""The monthly emissions chart by source (reportlab graphics: vector, same CJK font)."""

from __future__ import annotations

from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from reports.layout import FONT, fmt

PALETTE = ("#1f5f8b", "#e07b39", "#5a9e4b", "#b8473e", "#8c6bb1", "#7f7f7f")


def monthly_by_source(
    monthly: list[dict[str, Any]],
    sources: tuple[str, ...],
    labels: dict[str, str],
    *,
    width: float = 170 * mm,
    height: float = 80 * mm,
) -> Drawing:
    """Stacked bars: one bar a month, one colour a source (exports drawn below zero)."""
    used = [s for s in sources if any(m["by_source"][s] for m in monthly)] or [sources[0]]
    signs = {s: -1 if s.endswith("_exported") else 1 for s in used}
    data = [[float(m["by_source"][s]) * signs[s] for m in monthly] for s in used]
    d = Drawing(width, height)
    d.initialFontName = FONT  # else the renderer selects an unembedded Helvetica
    chart = VerticalBarChart()
    chart.x, chart.y = 16 * mm, 14 * mm
    chart.width, chart.height = width - 60 * mm, height - 22 * mm
    chart.data = data
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.categoryNames = [f"{m['month']}月" for m in monthly]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = lambda v: fmt(v, "", 0)
    lows = [sum(v for v in col if v < 0) for col in zip(*data, strict=True)] or [0]
    chart.valueAxis.valueMin = min(0, min(lows))
    for i, _ in enumerate(used):
        chart.bars[i].fillColor = colors.HexColor(PALETTE[i % len(PALETTE)])
        chart.bars[i].strokeColor = None
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 42 * mm, height - 12 * mm
    legend.fontName, legend.fontSize = FONT, 7
    legend.alignment = "right"
    legend.colorNamePairs = [
        (colors.HexColor(PALETTE[i % len(PALETTE)]), labels[s]) for i, s in enumerate(used)
    ]
    d.add(legend)
    d.add(String(16 * mm, height - 6 * mm, "月度排放量（tCO2）", fontName=FONT, fontSize=8))
    return d
