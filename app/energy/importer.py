"""`cecp import energy FILE`: monthly records from CSV or Excel, one energy line per row.

Columns: uscc, year, month, gross_output, value_added, item, flow, amount, unit, and
optionally ncv, carbon_content, oxidation_rate, factor_value, note. Record-level columns may
repeat on every row of the same enterprise-month (the first non-empty value counts). Every
row is checked before anything is written; one bad cell and nothing is imported.
"""

from __future__ import annotations

import csv
from pathlib import Path

from app.energy import records
from app.identity.scope import DataScope
from app.importers import importer

RECORD_COLS = ("uscc", "year", "month", "gross_output", "value_added", "note")
LINE_COLS = ("item", "flow", "amount", "unit", "ncv", "carbon_content", "oxidation_rate",
             "factor_value")
HEADER_ALIASES = {"统一社会信用代码": "uscc", "年份": "year", "月份": "month",
                  "工业总产值": "gross_output", "工业增加值": "value_added", "品种": "item",
                  "流向": "flow", "数量": "amount", "单位": "unit", "低位发热量": "ncv",
                  "单位热值含碳量": "carbon_content", "碳氧化率": "oxidation_rate",
                  "排放因子": "factor_value", "备注": "note"}


def read_rows(path: Path) -> list[dict]:
    """Rows as dicts of stripped strings (header names normalised)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        it = wb.active.iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(it, [])]
        raw = [dict(zip(header, ("" if v is None else str(v) for v in row), strict=False))
               for row in it]
    else:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            raw = list(csv.DictReader(fh))
    out = []
    for row in raw:
        clean = {HEADER_ALIASES.get((k or "").strip(), (k or "").strip()): (v or "").strip()
                 for k, v in row.items()}
        if any(clean.values()):
            out.append(clean)
    return out


def group(rows: list[dict]) -> tuple[list[dict], list[list[int]]]:
    """Records from rows, and for each record the file row number (header = 1) of each line."""
    items: dict[tuple, dict] = {}
    where: dict[tuple, list[int]] = {}
    for n, row in enumerate(rows, start=2):
        key = (row.get("uscc", ""), row.get("year", ""), row.get("month", ""))
        rec = items.setdefault(key, {"lines": []})
        for col in RECORD_COLS:
            if row.get(col) and not rec.get(col):
                rec[col] = row[col]
        rec["lines"].append({c: row.get(c) or None for c in LINE_COLS})
        where.setdefault(key, []).append(n)
    return list(items.values()), [where[k] for k in items]


@importer("energy")
def import_energy(path: Path) -> dict:
    from app.uow import commit

    try:
        rows = read_rows(Path(path))
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        return {"ok": False, "rows": 0,
                "errors": [{"row": 0, "field": "file", "message": f"无法读取文件：{exc}"}]}
    if not rows:
        return {"ok": False, "rows": 0,
                "errors": [{"row": 0, "field": "file", "message": "文件没有数据行"}]}
    items, where = group(rows)
    _, errors = records.validate_many(items, scope=DataScope(all=True), label="")
    if errors:
        return {"ok": False, "rows": len(rows), "errors": _by_row(errors, where)}
    try:
        records.create_many(items=items, scope=DataScope(all=True), source="import",
                            user_email="cli")
    except records.RecordError as exc:  # pragma: no cover - validated above
        from app.extensions import db

        db.session.rollback()
        return {"ok": False, "rows": len(rows), "errors": _by_row(exc.fields, where)}
    commit()
    return {"ok": True, "rows": len(rows), "records": len(items), "errors": []}


def _by_row(errors: dict[str, str], where: list[list[int]]) -> list[dict]:
    out = []
    for key, msg in errors.items():
        parts = key.split(".")
        rec = int(parts[0]) if parts[0].isdigit() else 0
        rows = where[rec] if rec < len(where) else [0]
        if len(parts) >= 4 and parts[1] == "lines" and parts[2].isdigit():
            out.append({"row": rows[int(parts[2])], "field": parts[3], "message": msg})
        else:
            out.append({"row": rows[0], "field": parts[-1], "message": msg})
    return sorted(out, key=lambda e: (e["row"], e["field"]))
