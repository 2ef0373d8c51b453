"""The one path in: every adapter (REST, SOAP, files, intermediate databases) submits a
staging batch here; the same validators run (energy records: `app.energy.records`;
readings and meters: `app.exchange.readings` / `meters`, which reuse the records' number and
unit rules); valid rows are promoted in the caller's transaction; rejected rows are kept
with their reasons. A repeated idempotency key answers the first batch again.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select

from app.audit.service import record as audit
from app.db import utcnow
from app.energy import records
from app.exchange import columnar, readings, realtime
from app.exchange import meters as meter_service
from app.exchange.models import ExchangeBatch, ExchangeLog, StagedRow
from app.exports import safe_row
from app.extensions import db
from app.identity.scope import DataScope

MAX_ROWS = 10_000
KINDS = {"readings": "计量读数", "energy": "月度能源数据", "meters": "计量表",
         "enterprises": "企业信息", "outputs": "产值数据"}


class BatchError(ValueError):
    def __init__(self, message: str, field: str = "batch") -> None:
        super().__init__(message)
        self.message, self.field = message, field


def _user_id(user) -> int | None:
    return getattr(user, "id", None) if getattr(user, "is_authenticated", True) else None


def find_replay(*, user, idempotency_key: str | None) -> ExchangeBatch | None:
    if not idempotency_key or _user_id(user) is None:
        return None
    return db.session.scalar(select(ExchangeBatch).where(
        ExchangeBatch.submitted_by_id == _user_id(user),
        ExchangeBatch.idempotency_key == idempotency_key))


def open_batch(*, kind: str, source: str, user, client: str | None, rows: int,
               idempotency_key: str | None = None, mode: str = "all",
               filename: str | None = None) -> ExchangeBatch:
    if mode not in ("all", "partial"):
        raise BatchError("mode 须为 all（全部或全不）或 partial（部分入库）", "mode")
    if idempotency_key is not None and len(idempotency_key) > 100:
        raise BatchError("幂等键不能超过 100 个字符", "idempotency_key")
    batch = ExchangeBatch(kind=kind, source=source, client=client or getattr(user, "email", None),
                          submitted_by_id=_user_id(user), row_count=rows,
                          idempotency_key=idempotency_key or None, mode=mode, filename=filename,
                          status="received")
    db.session.add(batch)
    db.session.flush()
    return batch


def _reuse(batch: ExchangeBatch | None, rows: int, mode: str) -> ExchangeBatch | None:
    if batch is not None:
        if mode not in ("all", "partial"):
            raise BatchError("mode 须为 all（全部或全不）或 partial（部分入库）", "mode")
        batch.row_count, batch.mode = rows, mode
    return batch


def _reject_rows(batch: ExchangeBatch, items: list, errors: dict[int, dict[str, str]]) -> None:
    if not errors:
        return
    db.session.execute(insert(StagedRow), [
        {"batch_id": batch.id, "row_no": i + 1,
         "data": json.dumps(items[i] if i < len(items) else None, ensure_ascii=False,
                            default=str),
         "errors": json.dumps(err, ensure_ascii=False)} for i, err in sorted(errors.items())])


def _finish(batch: ExchangeBatch, *, accepted: int, rejected: int) -> None:
    if accepted == 0 and rejected:
        batch.status = "rejected"
    elif rejected:
        batch.status = "partial"
    else:
        batch.status = "promoted"
    batch.accepted, batch.rejected = accepted, rejected
    batch.progress = 100
    batch.finished_at = utcnow()
    audit("exchange.batch", object_type="exchange_batch", object_id=batch.id,
          summary={"kind": batch.kind, "source": batch.source, "client": batch.client,
                   "rows": batch.row_count, "accepted": accepted, "rejected": rejected,
                   "status": batch.status})


def submit_readings(*, items: list, scope: DataScope, user, source: str,
                    client: str | None = None, idempotency_key: str | None = None,
                    mode: str = "all", filename: str | None = None,
                    limit: int | None = MAX_ROWS, batch: ExchangeBatch | None = None
                    ) -> tuple[ExchangeBatch, bool]:
    """Returns (batch, replayed). Rows outside the caller's scope are refused (audited)."""
    first = find_replay(user=user, idempotency_key=idempotency_key)
    if first is not None:
        return first, True
    if not isinstance(items, list) or not items:
        raise BatchError("请至少提交一条读数", "readings")
    if limit and len(items) > limit:
        raise BatchError(f"单批最多 {limit} 条读数（当前 {len(items)} 条），请分批提交",
                         "readings")
    batch = _reuse(batch, len(items), mode) or open_batch(
        kind="readings", source=source, user=user, client=client, rows=len(items),
        idempotency_key=idempotency_key, mode=mode, filename=filename)
    checked = readings.validate(items, scope=scope)
    if checked.outside:
        audit("exchange.scope_refused", object_type="exchange_batch", object_id=batch.id,
              summary={"meters": sorted(checked.outside)[:50], "client": batch.client})
    batch.outside = checked.outside  # not a column: lets the adapter answer 403
    _reject_rows(batch, items, checked.errors)
    if checked.errors and mode == "all":
        _finish(batch, accepted=0, rejected=len(checked.errors))
        batch.message = "存在错误，整批未写入"
        return batch, False
    stored = readings.store(checked.rows, batch_id=batch.id)
    batch.inserted, batch.corrected, batch.unchanged = (stored.inserted, stored.corrected,
                                                        stored.unchanged)
    _finish(batch, accepted=len(checked.rows), rejected=len(checked.errors))
    mids, stamps = columnar.columns(checked.rows)
    realtime.after_store(mids)
    _derive_monthly(mids, stamps)
    return batch, False


def _derive_monthly(mids: set[int], stamps: set) -> None:
    """Meter-sourced monthly lines are re-derived by a job for enterprises that chose them."""
    from app.exchange import monthly
    from app.jobs.outbox import enqueue

    # the batch's distinct times: far fewer than rows, many meters share a time
    months = {(b.year, b.month) for b in {readings.bucket_of(ts, "month") for ts in stamps}}
    todo = monthly.affected(mids, months)
    if todo:
        enqueue("exchange.monthly_lines", items=todo)


def submit_records(*, items: list, scope: DataScope, user, source: str,
                   client: str | None = None, idempotency_key: str | None = None,
                   mode: str = "all", filename: str | None = None,
                   batch: ExchangeBatch | None = None) -> tuple[ExchangeBatch, bool]:
    """Monthly energy records through `app.energy.records` (the form's own validators)."""
    first = find_replay(user=user, idempotency_key=idempotency_key)
    if first is not None:
        return first, True
    if not isinstance(items, list) or not items:
        raise BatchError("请至少提交一条记录", "records")
    batch = _reuse(batch, len(items), mode) or open_batch(
        kind="energy", source=source, user=user, client=client, rows=len(items),
        idempotency_key=idempotency_key, mode=mode, filename=filename)
    _, errors = records.validate_many(items, scope=scope, label="")
    by_row: dict[int, dict[str, str]] = {}
    for key, msg in errors.items():
        head, _, rest = key.partition(".")
        by_row.setdefault(int(head) if head.isdigit() else 0, {})[rest or "record"] = msg
    _reject_rows(batch, items, by_row)
    good = [it for i, it in enumerate(items) if i not in by_row]
    if by_row and (mode == "all" or not good):
        _finish(batch, accepted=0, rejected=len(by_row))
        batch.message = "存在错误，整批未写入"
        return batch, False
    records.create_many(items=good, scope=scope, source=source[:12],
                        user_email=getattr(user, "email", None))
    batch.inserted = len(good)
    _finish(batch, accepted=len(good), rejected=len(by_row))
    return batch, False


def submit_meters(*, items: list, scope: DataScope, user, source: str,
                  client: str | None = None, mode: str = "all",
                  filename: str | None = None, batch: ExchangeBatch | None = None
                  ) -> tuple[ExchangeBatch, bool]:
    if not isinstance(items, list) or not items:
        raise BatchError("请至少提交一个计量表", "meters")
    batch = _reuse(batch, len(items), mode) or open_batch(
        kind="meters", source=source, user=user, client=client, rows=len(items), mode=mode,
        filename=filename)
    errors: dict[int, dict[str, str]] = {}
    seen: set[str] = set()
    good = []
    for i, it in enumerate(items):
        clean, errs = meter_service.validate(it, scope=scope)
        if clean and clean["external_id"] in seen:
            errs = {"external_id": "与前面的行重复"}
        if errs:
            errors[i] = errs
        else:
            seen.add(clean["external_id"])
            good.append(it)
    _reject_rows(batch, items, errors)
    if errors and (mode == "all" or not good):
        _finish(batch, accepted=0, rejected=len(errors))
        return batch, False
    meter_service.create_many(items=good, scope=scope)
    batch.inserted = len(good)
    _finish(batch, accepted=len(good), rejected=len(errors))
    return batch, False


def get(*, batch_id: int, user, scope: DataScope) -> ExchangeBatch | None:
    """A batch is visible to its submitter and to whoever sees everything."""
    if not 0 < batch_id < 2**63:
        return None
    batch = db.session.get(ExchangeBatch, batch_id)
    if batch is None:
        return None
    if scope.all or (batch.submitted_by_id is not None and batch.submitted_by_id == _user_id(user)):
        return batch
    return None


def list_for(*, user, scope: DataScope, limit: int = 200) -> list[ExchangeBatch]:
    stmt = select(ExchangeBatch).order_by(ExchangeBatch.id.desc()).limit(limit)
    if not scope.all:
        stmt = stmt.where(ExchangeBatch.submitted_by_id == _user_id(user))
    return list(db.session.scalars(stmt))


def row_errors(batch: ExchangeBatch, limit: int = 1000) -> list[dict]:
    rows = db.session.scalars(select(StagedRow).where(StagedRow.batch_id == batch.id)
                              .order_by(StagedRow.row_no).limit(limit))
    return [{"row": r.row_no, "fields": json.loads(r.errors), "data": json.loads(r.data)}
            for r in rows]


def field_errors(batch: ExchangeBatch, label: str) -> dict[str, str]:
    out = {}
    for e in row_errors(batch, limit=500):
        for f, msg in e["fields"].items():
            out[f"{label}.{e['row'] - 1}.{f}"] = msg
    return out


def rejected_xlsx(batch: ExchangeBatch) -> bytes:
    """The rejected rows with their original cells and an error column (错误原因)."""
    from openpyxl import Workbook

    rows = row_errors(batch, limit=1_000_000)
    cols: list[str] = []
    for r in rows:
        if isinstance(r["data"], dict):
            cols += [c for c in r["data"] if c not in cols and not isinstance(r["data"][c],
                                                                              (dict, list))]
    wb = Workbook()
    ws = wb.active
    ws.title = "被拒绝的行"
    ws.append(safe_row(["行号", *cols, "错误原因"]))
    for r in rows:
        data = r["data"] if isinstance(r["data"], dict) else {}
        ws.append(safe_row([r["row"], *[_cell(data.get(c)) for c in cols],
                            "；".join(f"{k}: {v}" for k, v in r["fields"].items())]))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(v: Any) -> Any:
    return v if v is None or isinstance(v, (int, float, str)) else str(v)


def log(*, channel: str, operation: str, client: str | None, status: str, started: float,
        batch: ExchangeBatch | None = None, rows: int = 0, rejected: int = 0,
        error: str | None = None, direction: str = "in") -> None:
    """Exchange log entry (its own INSERT in the current transaction)."""
    from app.exchange import metrics

    ms = int((time.perf_counter() - started) * 1000)
    db.session.execute(insert(ExchangeLog).values(
        at=utcnow(), direction=direction, channel=channel, operation=operation,
        client=client, batch_id=batch.id if batch else None,
        rows=batch.row_count if batch else rows,
        rejected=batch.rejected if batch else rejected, status=status, duration_ms=ms,
        error=(error or "")[:2000] or None))
    metrics.observe(channel=channel, operation=operation, status=status,
                    rows=batch.accepted if batch else rows, seconds=ms / 1000)


def timed() -> float:
    return time.perf_counter()


Submitter = Callable[..., tuple[ExchangeBatch, bool]]
