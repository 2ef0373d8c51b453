"""Two more kinds on the one staging path: enterprises (master data, `app.orgs.registry`)
and output values (工业总产值 / 工业增加值 of a month, through `app.energy.records`, the
form's own validators). Both are keyed by their natural keys (USCC; USCC + month), so a
repeated file changes nothing; `all` mode writes nothing when any row is wrong.
"""

from __future__ import annotations

from sqlalchemy import select

from app.energy import records
from app.energy.models import EnergyRecord
from app.exchange.models import ExchangeBatch
from app.exchange.service import BatchError, _finish, _reject_rows, _reuse, open_batch
from app.extensions import db
from app.identity.scope import DataScope, get_scoped
from app.orgs import registry
from app.orgs.models import Enterprise

OUTPUT_FIELDS = ("uscc", "year", "month", "gross_output", "value_added")


def submit_enterprises(
    *,
    items: list,
    scope: DataScope,
    user,
    source: str,
    client: str | None = None,
    mode: str = "all",
    filename: str | None = None,
    batch: ExchangeBatch | None = None,
) -> tuple[ExchangeBatch, bool]:
    """Create or update enterprises by USCC (the same USCC twice in one file: an error)."""
    if not isinstance(items, list) or not items:
        raise BatchError("请至少提交一家企业", "enterprises")
    batch = _reuse(batch, len(items), mode) or open_batch(
        kind="enterprises",
        source=source,
        user=user,
        client=client,
        rows=len(items),
        mode=mode,
        filename=filename,
    )
    errors: dict[int, dict[str, str]] = {}
    seen: dict[str, int] = {}
    good: list[dict] = []
    for i, it in enumerate(items):
        clean, errs = (
            registry.validate(it, scope=scope)
            if isinstance(it, dict)
            else (None, {"row": "格式不正确"})
        )
        if clean is not None and clean["uscc"] in seen:
            clean, errs = None, {"uscc": f"与第 {seen[clean['uscc']] + 1} 行重复"}
        if errs:
            errors[i] = errs
            continue
        seen[clean["uscc"]] = i
        good.append(clean)
    _reject_rows(batch, items, errors)
    if errors and (mode == "all" or not good):
        _finish(batch, accepted=0, rejected=len(errors))
        batch.message = "存在错误，整批未写入"
        return batch, False
    counts = registry.upsert_many(good)
    batch.inserted, batch.corrected, batch.unchanged = (
        counts["created"],
        counts["updated"],
        counts["unchanged"],
    )
    _finish(batch, accepted=len(good), rejected=len(errors))
    return batch, False


def _record(uscc, year, month, scope: DataScope) -> EnergyRecord | None:
    ent = get_scoped(Enterprise, str(uscc or "").strip(), by="uscc", scope=scope)
    try:
        period = int(str(year).strip()) * 100 + int(str(month).strip())
    except (TypeError, ValueError):
        return None
    if ent is None:
        return None
    return db.session.scalar(
        select(EnergyRecord).where(
            EnergyRecord.enterprise_id == ent.id, EnergyRecord.period == period
        )
    )


def _lines(rec: EnergyRecord) -> list[dict]:
    return [
        {
            k: getattr(ln, k)
            for k in (
                "flow",
                "item",
                "amount",
                "unit",
                "ncv",
                "carbon_content",
                "oxidation_rate",
                "factor_value",
                "note",
            )
        }
        for ln in rec.lines
    ]


def _check_output(it: dict, scope: DataScope) -> tuple[tuple | None, dict[str, str]]:
    """(record, new gross, new value added) or field errors; a blank cell keeps the
    stored figure."""
    rec = _record(it.get("uscc"), it.get("year"), it.get("month"), scope)
    blank = [
        f
        for f in ("gross_output", "value_added")
        if it.get(f) is None or not str(it.get(f)).strip()
    ]
    data = {
        "uscc": it.get("uscc"),
        "year": it.get("year"),
        "month": it.get("month"),
        "gross_output": it.get("gross_output"),
        "value_added": it.get("value_added"),
        "lines": _lines(rec) if rec is not None else [],
    }
    _, errs = records.validate(data, scope=scope)
    if "lines" in errs:
        del errs["lines"]
        if not errs:
            errs["month"] = "该月尚无月度能源数据，请先填报或导入能源数据（产值记在月度记录上）"
    if len(blank) == 2:
        errs.setdefault("gross_output", "请填写工业总产值或工业增加值（万元）")
    if errs:
        return None, errs
    clean, _ = records.validate(data, scope=scope)
    gross = rec.gross_output if "gross_output" in blank else clean.gross_output
    va = rec.value_added if "value_added" in blank else clean.value_added
    return (rec, gross, va), {}


def submit_outputs(
    *,
    items: list,
    scope: DataScope,
    user,
    source: str,
    client: str | None = None,
    mode: str = "all",
    filename: str | None = None,
    batch: ExchangeBatch | None = None,
) -> tuple[ExchangeBatch, bool]:
    """Output value and value added (万元) of enterprise-months that have a record."""
    if not isinstance(items, list) or not items:
        raise BatchError("请至少提交一行产值数据", "outputs")
    batch = _reuse(batch, len(items), mode) or open_batch(
        kind="outputs",
        source=source,
        user=user,
        client=client,
        rows=len(items),
        mode=mode,
        filename=filename,
    )
    errors: dict[int, dict[str, str]] = {}
    seen: dict[int, int] = {}
    good: list[tuple] = []
    for i, it in enumerate(items):
        found, errs = (
            _check_output(it, scope) if isinstance(it, dict) else (None, {"row": "格式不正确"})
        )
        if found is not None and found[0].id in seen:
            found, errs = None, {"month": f"与第 {seen[found[0].id] + 1} 行的企业和月份相同"}
        if errs:
            errors[i] = errs
            continue
        seen[found[0].id] = i
        good.append(found)
    _reject_rows(batch, items, errors)
    if errors and (mode == "all" or not good):
        _finish(batch, accepted=0, rejected=len(errors))
        batch.message = "存在错误，整批未写入"
        return batch, False
    changed = 0
    for rec, gross, va in good:
        if rec.gross_output == gross and rec.value_added == va:
            continue
        records.update(
            record=rec,
            data={"gross_output": gross, "value_added": va, "note": rec.note, "lines": _lines(rec)},
            scope=scope,
            user_email=getattr(user, "email", None) or client,
        )
        changed += 1
    batch.corrected, batch.unchanged = changed, len(good) - changed
    _finish(batch, accepted=len(good), rejected=len(errors))
    return batch, False
