"""`cecp import settlements FILE`: the power system's settled electricity and fees (CSV with
header project,month,settled_mwh,fee_yuan; UTF-8, BOM allowed). All rows or none."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from app.identity.datascope import DataScope
from app.importers import importer

COLUMNS = ("project", "month", "settled_mwh", "fee_yuan")


@importer("settlements")
def import_settlements(path: Path) -> dict:
    from app.trading import monitoring

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return {"ok": False, "rows": 0,
                "errors": [{"row": 0, "field": "file", "message": f"无法读取文件：{exc}"}]}
    if not rows:
        return {"ok": False, "rows": 0,
                "errors": [{"row": 0, "field": "file", "message": "文件没有数据行"}]}
    missing = [c for c in COLUMNS[:3] if c not in rows[0]]
    if missing:
        return {"ok": False, "rows": len(rows), "errors": [
            {"row": 1, "field": c, "message": "缺少列"} for c in missing]}
    try:
        monitoring.record_settlements(items=[{c: r.get(c) for c in COLUMNS} for r in rows],
                                      scope=DataScope(all=True), source=f"import:{path.name}")
    except monitoring.SettlementInvalid as exc:
        errors = []
        for key, msg in exc.fields.items():
            m = re.match(r"items\[(\d+)\]\.(\w+)", key)
            errors.append({"row": int(m.group(1)) + 2 if m else 0,
                           "field": m.group(2) if m else key, "message": msg})
        return {"ok": False, "rows": len(rows), "errors": errors}
    return {"ok": True, "rows": len(rows), "errors": []}
