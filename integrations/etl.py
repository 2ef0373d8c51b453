"""Intermediate database / ETL connector (R-9.2e, R-9.1.1): read another SQL database
through a mapping (table or query, column mapping, unit conversion) from an incremental
watermark, and submit what it finds as staging batches (source `etl`, partial mode: an
unknown meter is a rejected row with its reason, never a stopped sync).

A mapping is a JSON file in `integrations/mappings/` (or a dict in `CECP_SYNC_MAPPINGS`):
`url` (SQLAlchemy URL; `{instance}` is the instance folder; `url_setting` names a config key
that overrides it), `table` or `query` (a SELECT with a `:watermark` parameter), the
`watermark` column, `columns` (platform name -> source column), `convert` (multipliers),
`source_zone` for naive timestamps, and `chunk` (rows per batch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import create_engine, text

from app.db import utcnow
from app.exchange import service
from app.exchange.models import SyncState
from app.extensions import db
from app.identity.scope import DataScope

MAPPINGS_DIR = Path(__file__).with_name("mappings")


@dataclass
class Mapping:
    name: str
    url: str
    columns: dict[str, str]
    watermark: dict
    table: str | None = None
    query: str | None = None
    convert: dict[str, str] = field(default_factory=dict)
    source_zone: str = "+08:00"
    chunk: int = 10_000
    label: str = ""
    extra: dict = field(default_factory=dict)

    def sql(self) -> str:
        if self.query:
            return self.query
        wm = self.watermark["column"]
        return (f'SELECT * FROM "{self.table}" WHERE (:watermark IS NULL OR "{wm}" >= :watermark) '
                f'ORDER BY "{wm}"')


def _load(spec: dict) -> Mapping:
    url = current_app.config.get(spec.get("url_setting") or "") or spec["url"]
    url = url.replace("{instance}", current_app.instance_path)
    known = {"name", "url", "columns", "watermark", "table", "query", "convert",
             "source_zone", "chunk", "label"}
    return Mapping(**{k: v for k, v in spec.items() if k in known} | {"url": url},
                   extra={k: v for k, v in spec.items() if k not in known})


def mappings() -> dict[str, Mapping]:
    out = {}
    for path in sorted(MAPPINGS_DIR.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        out[spec["name"]] = _load(spec)
    for spec in current_app.config.get("CECP_SYNC_MAPPINGS") or []:
        out[spec["name"]] = _load(spec)
    return out


def _ts(raw, zone: str) -> str:
    if isinstance(raw, datetime):
        return raw.isoformat() + (zone if raw.tzinfo is None else "")
    s = str(raw).strip().replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        return str(raw)  # the validator names it
    return s if parsed.tzinfo else s + zone


def _row(m: Mapping, src: dict) -> dict:
    out = {}
    for target, column in m.columns.items():
        v = src.get(column)
        if target == "ts":
            v = _ts(v, m.source_zone) if v is not None else None
        elif target in m.convert and v not in (None, ""):
            try:
                v = str(Decimal(str(v)) * Decimal(m.convert[target]))
            except ArithmeticError:
                v = str(v)
        out[target] = v if v is None or isinstance(v, str) else str(v)
    return out


def sync(name: str, *, limit: int | None = None) -> dict:
    """Pull everything past the watermark; one batch per chunk, committed chunk by chunk
    with the watermark, so an interrupted sync resumes where it stopped."""
    from app.uow import commit

    m = mappings().get(name)
    if m is None:
        raise service.BatchError(f"未知的同步映射 {name}", "name")
    state = db.session.get(SyncState, name) or SyncState(name=name, last_rows=0)
    db.session.add(state)
    t0 = service.timed()
    engine = create_engine(m.url)
    total = batches = rejected = 0
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(
                text(m.sql()), {"watermark": state.watermark})
            while True:
                rows = result.mappings().fetchmany(m.chunk)
                if not rows:
                    break
                items = [_row(m, dict(r)) for r in rows]
                batch, _ = service.submit_readings(
                    items=items, scope=DataScope(all=True), user=None, source="etl",
                    client=f"etl:{name}", mode="partial", limit=None)
                last = rows[-1][m.watermark["column"]]
                state.watermark = last.isoformat(sep=" ") if isinstance(last, datetime) \
                    else str(last)
                state.last_run_at, state.last_error = utcnow(), None
                total += len(items)
                rejected += batch.rejected
                batches += 1
                service.log(channel="etl", operation=f"sync.{name}", client=f"etl:{name}",
                            status=batch.status, started=t0, batch=batch)
                commit()
                t0 = service.timed()
                if limit and total >= limit:
                    break
    except Exception as exc:  # the source is another system: record, never crash the worker
        db.session.rollback()
        state = db.session.get(SyncState, name) or SyncState(name=name, last_rows=0)
        db.session.add(state)
        state.last_run_at, state.last_error = utcnow(), str(exc)[:2000]
        service.log(channel="etl", operation=f"sync.{name}", client=f"etl:{name}",
                    status="failed", started=t0, error=str(exc))
        commit()
        return {"name": name, "rows": total, "batches": batches, "error": str(exc)}
    finally:
        engine.dispose()
    state = db.session.get(SyncState, name)
    state.last_rows, state.last_run_at = total, utcnow()
    commit()
    return {"name": name, "rows": total, "batches": batches, "rejected": rejected,
            "watermark": state.watermark}


def source_available(m: Mapping) -> bool:
    if m.url.startswith("sqlite:///"):
        return Path(m.url.removeprefix("sqlite:///")).exists()
    return True
