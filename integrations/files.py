"""Bulk files (R-9.2d): CSV and XLSX for readings, meters, monthly energy records,
enterprises and output values, by
page upload, API and `cecp import`; a template per kind; all-or-nothing or partial.

A file is read into rows of strings under canonical column names (Chinese headers are
accepted), then handed to the same staging service as every other adapter. Uploads are
kept in the database until their job has run (web nodes keep no local files).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from app.energy.importer import HEADER_ALIASES as ENERGY_ALIASES
from app.energy.importer import LINE_COLS, RECORD_COLS
from app.energy.importer import group as group_energy

KINDS: dict[str, dict] = {
    "readings": {
        "label": "计量读数",
        "columns": [("meter", "计量表编号"), ("ts", "时间"), ("value", "读数"), ("unit", "单位")],
        "example": ["E-0001", "2026-12-01T08:00:00+08:00", "125.5", "kWh"],
    },
    "meters": {
        "label": "计量表",
        "columns": [("enterprise", "统一社会信用代码"), ("external_id", "计量表编号"),
                    ("name", "名称"), ("energy_type", "能源品种"), ("unit", "单位"),
                    ("multiplier", "倍率"), ("source_system", "来源系统"),
                    ("installed_at", "启用时间")],
        "example": ["91330522MA3000001X", "E-0001", "总进线表", "electricity", "kWh", "200",
                    "营销系统", "2026-01-01T00:00:00+08:00"],
    },
    "energy": {
        "label": "月度能源数据",
        "columns": [(c, next((k for k, v in ENERGY_ALIASES.items() if v == c), c))
                    for c in (*RECORD_COLS[:5], *LINE_COLS)],
        "example": ["91330522MA3000001X", "2026", "11", "3000", "1000", "electricity",
                    "purchased", "1200", "MWh", "", "", "", ""],
    },
    "enterprises": {
        "label": "企业信息",
        "columns": [("uscc", "统一社会信用代码"), ("name", "企业名称"),
                    ("region_code", "行政区划代码"), ("industry_code", "行业代码"),
                    ("scale", "企业规模"), ("key_emitter", "重点控排企业"), ("address", "地址")],
        "example": ["91330522MA3000001X", "湖州示范水泥有限公司", "330522", "3011", "规上", "是",
                    "浙江省湖州市长兴县"],
    },
    "outputs": {
        "label": "产值数据",
        "columns": [("uscc", "统一社会信用代码"), ("year", "年份"), ("month", "月份"),
                    ("gross_output", "工业总产值"), ("value_added", "工业增加值")],
        "example": ["91330522MA3000001X", "2026", "11", "3000", "1000"],
    },
}
#: kinds whose rows create or change enterprises: administrators or `enterprises.write`
PERMISSIONS = {"enterprises": ("admin.access", "enterprises.write")}
TIME_COLUMNS = {"ts", "installed_at"}


def aliases(kind: str) -> dict[str, str]:
    out = {zh: en for en, zh in KINDS[kind]["columns"]}
    if kind == "energy":
        out.update(ENERGY_ALIASES)
    return out


def _text(v, column: str) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        # a spreadsheet date carries no zone: it is read as Beijing time
        return (v.isoformat() + "+08:00") if column in TIME_COLUMNS and v.tzinfo is None \
            else v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def column_label(kind: str, field: str) -> str:
    """`value_added` -> `工业增加值（value_added）`: the column as the file's header names it."""
    zh = dict(KINDS[kind]["columns"]).get(field.rsplit(".", 1)[-1]) if kind in KINDS else None
    return f"{zh}（{field}）" if zh else field


def read_table(content: bytes, filename: str, kind: str) -> list[dict]:
    """Rows as dicts of strings under canonical names; blank rows dropped."""
    names = aliases(kind)
    if b"\x00" in content and not filename.lower().endswith((".xlsx", ".xlsm")):
        raise ValueError("文件包含空字符（NUL），请检查编码")
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        it = wb.active.iter_rows(values_only=True)
        header = [names.get(str(h or "").strip(), str(h or "").strip()) for h in next(it, [])]
        rows = [{h: _text(v, h).replace("\x00", "") for h, v in zip(header, row, strict=False)
                 if h} for row in it]
    else:
        text = content.decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text))
        header = [names.get(h.strip(), h.strip()) for h in next(reader, [])]
        rows = [{h: (v or "").strip() for h, v in zip(header, row, strict=False) if h}
                for row in reader]
    return [r for r in rows if any(r.values())]


def template(kind: str, fmt: str) -> bytes:
    spec = KINDS[kind]
    header = [zh for _, zh in spec["columns"]]
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = spec["label"]
        ws.append(header)
        ws.append(spec["example"])
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerow(spec["example"])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def process(*, kind: str, rows: list[dict], scope, user, source: str, mode: str,
            client: str | None = None, filename: str | None = None, batch=None):
    """Stage and promote the rows of one file; returns the batch."""
    from app.exchange import service

    if kind == "readings":
        return service.submit_readings(items=rows, scope=scope, user=user, source=source,
                                       client=client, mode=mode, filename=filename,
                                       limit=None, batch=batch)[0]
    if kind == "meters":
        return service.submit_meters(items=rows, scope=scope, user=user, source=source,
                                     client=client, mode=mode, filename=filename,
                                     batch=batch)[0]
    if kind == "energy":
        items, _ = group_energy(rows)
        return service.submit_records(items=items, scope=scope, user=user, source=source,
                                      client=client, mode=mode, filename=filename,
                                      batch=batch)[0]
    if kind in ("enterprises", "outputs"):
        from app.exchange import masterdata

        submit = (masterdata.submit_enterprises if kind == "enterprises"
                  else masterdata.submit_outputs)
        return submit(items=rows, scope=scope, user=user, source=source, client=client,
                      mode=mode, filename=filename, batch=batch)[0]
    raise service.BatchError(f"未知导入类型 {kind}", "kind")


def import_path(kind: str, path: Path) -> dict:
    """`cecp import readings|meters|enterprises|outputs FILE`: all or nothing, as every CLI
    importer; a row's number is its line in the file (header = 1)."""
    from app.exchange import service
    from app.extensions import db
    from app.identity.scope import DataScope

    try:
        rows = read_table(Path(path).read_bytes(), Path(path).name, kind)
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        return {"ok": False, "rows": 0,
                "errors": [{"row": 0, "field": "file", "message": f"无法读取文件：{exc}"}]}
    if not rows:
        return {"ok": False, "rows": 0,
                "errors": [{"row": 0, "field": "file", "message": "文件没有数据行"}]}
    try:
        batch = process(kind=kind, rows=rows, scope=DataScope(all=True), user=None,
                        source="cli", mode="all", client="cli", filename=Path(path).name)
    except service.BatchError as exc:
        return {"ok": False, "rows": len(rows),
                "errors": [{"row": 0, "field": exc.field, "message": exc.message}]}
    errors = [{"row": e["row"] + 1, "field": column_label(kind, f), "message": m}
              for e in service.row_errors(batch, limit=100_000) for f, m in e["fields"].items()]
    if batch.status == "rejected":
        batch_id = batch.id
        db.session.rollback()
        return {"ok": False, "rows": len(rows), "errors": errors, "batch": batch_id}
    return {"ok": True, "rows": len(rows), "errors": [], "batch": batch.id}


def register_importers() -> None:
    from app.importers import IMPORTERS, importer

    for kind in ("readings", "meters", "enterprises", "outputs"):
        if kind not in IMPORTERS:
            importer(kind)(lambda path, _k=kind: import_path(_k, path))
