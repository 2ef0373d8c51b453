"""CSV and Excel (openpyxl) export of the monitoring views: Chinese headers with units,
figures as numbers in Excel (thousands format) and as plain Decimal text in CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import Workbook

PROJECT_COLUMNS = [("month", "月份"), ("generation", "发电量（MWh）"),
                   ("ongrid", "上网电量（MWh）"), ("own_use", "厂用电量（MWh）"),
                   ("capacity_factor", "容量系数"), ("settled_mwh", "结算电量（MWh）"),
                   ("fee_yuan", "结算电费（元）"), ("anomalies", "异常")]
REGION_COLUMNS = [("month", "月份"), ("generation", "发电量（MWh）"),
                  ("ongrid", "上网电量（MWh）"), ("own_use", "厂用电量（MWh）"),
                  ("settled_mwh", "结算电量（MWh）"), ("fee_yuan", "结算电费（元）"),
                  ("flagged_projects", "异常项目数")]


def _cell(key: str, value):
    if key == "anomalies":
        return "；".join(a["message"] for a in value or [])
    return value


def to_csv(rows: list[dict], columns: list[tuple[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([label for _, label in columns])
    for r in rows:
        w.writerow(["" if r.get(k) is None else _cell(k, r.get(k)) for k, _ in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def to_xlsx(rows: list[dict], columns: list[tuple[str, str]], *, title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([label for _, label in columns])
    for r in rows:
        line = []
        for k, _ in columns:
            v = r.get(k)
            if isinstance(v, str) and k not in ("month", "anomalies"):
                v = float(Decimal(v))  # Excel cells are binary floats; CSV keeps the text
            line.append(_cell(k, v))
        ws.append(line)
    for col in ws.iter_cols(min_row=2):
        for c in col:
            if isinstance(c.value, float):
                c.number_format = "#,##0.0000" if "系数" in str(ws.cell(1, c.column).value) \
                    else "#,##0.000"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
