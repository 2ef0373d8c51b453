"""CSV and Excel export of one dataset: the same rows the chart and the table show."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from app.exports import safe_row
from app.monitoring.datasets import Dataset, jsonable

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def to_csv(ds: Dataset) -> bytes:
    """UTF-8 with BOM so that Excel opens the Chinese headings correctly."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(safe_row(c.heading for c in ds.columns))
    for row in ds.rows:
        w.writerow(safe_row("" if v is None else v for v in row))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(ds: Dataset, *, context: dict | None = None) -> bytes:
    """Sheet 1: the data (numbers as numbers); sheet 2: title, filters, freshness, note."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append([c.heading for c in ds.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in ds.rows:
        ws.append(safe_row(jsonable(v) for v in row))
    for i, col in enumerate(ds.columns, 1):
        width = max(len(col.heading) * 2, 10)
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width, 40)
    info = wb.create_sheet("说明")
    info.append(safe_row(["标题", ds.title]))
    if ds.note:
        info.append(["说明", ds.note])
    for k, v in (context or {}).items():
        info.append(safe_row([k, str(v)]))
    info.append(["导出时间", datetime.now().strftime("%Y-%m-%d %H:%M:%S")])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render(ds: Dataset, fmt: str, *, context: dict | None = None) -> tuple[bytes, str, str]:
    """(body, mimetype, file name)."""
    stamp = datetime.now().strftime("%Y%m%d%H%M")
    name = f"{ds.id}-{stamp}.{fmt}"
    if fmt == "xlsx":
        return to_xlsx(ds, context=context), FORMATS["xlsx"], name
    return to_csv(ds), FORMATS["csv"], name
