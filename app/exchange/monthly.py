"""Monthly energy lines derived from meters (R-8.6): the month rollups of an enterprise's
meters, converted to each energy type's unit, replace the declared line of an item when the
enterprise chose `meter` as that item's source. The line's note says it is meter-sourced
(how many meters, data up to when), so the account shows which source won; the record goes
through `app.energy.records.update` / `create_many` (the same validators, the same
recomputation of the account).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.audit.service import record as audit
from app.energy import records
from app.energy.models import EnergyRecord, EnergyType
from app.exchange.meters import unit_factor
from app.exchange.models import Meter, MeterRollup, SourceChoice
from app.extensions import db
from app.identity.scope import DataScope
from app.orgs.models import Enterprise

SOURCES = {"form": "企业填报", "meter": "计量表汇总"}
MARK = "计量表汇总（meter-sourced）"


def flow_for(category: str) -> str:
    return "purchased" if category in ("electricity", "heat") else "consumed"


def meter_totals(*, enterprise_id: int, year: int, month: int) -> dict[str, dict]:
    """item -> {amount (energy type unit), meters, last_ts} from the month rollups."""
    rows = db.session.execute(
        select(Meter, MeterRollup.total, MeterRollup.last_ts).join(
            MeterRollup, MeterRollup.meter_id == Meter.id).where(
            Meter.enterprise_id == enterprise_id, MeterRollup.resolution == "month",
            MeterRollup.bucket == datetime(year, month, 1))).all()
    types = {t.code: t for t in db.session.scalars(select(EnergyType))}
    out: dict[str, dict] = {}
    for meter, total, last in rows:
        et = types[meter.energy_type]
        acc = out.setdefault(et.code, {"amount": Decimal(0), "meters": 0, "last_ts": last,
                                       "unit": et.unit, "flow": flow_for(et.category)})
        acc["amount"] += total * (unit_factor(et, meter.unit) or Decimal(1))
        acc["meters"] += 1
        acc["last_ts"] = max(acc["last_ts"], last)
    return out


def choices(*, enterprise_id: int) -> dict[str, str]:
    return dict(db.session.execute(select(SourceChoice.item, SourceChoice.source).where(
        SourceChoice.enterprise_id == enterprise_id)).all())


def set_choice(*, enterprise: Enterprise, item: str, source: str) -> SourceChoice:
    if source not in SOURCES:
        raise records.RecordError({"source": "来源须为 form（企业填报）或 meter（计量表汇总）"})
    if db.session.get(EnergyType, item) is None:
        raise records.RecordError({"item": f"未知的能源品种“{item}”"})
    row = db.session.scalar(select(SourceChoice).where(
        SourceChoice.enterprise_id == enterprise.id, SourceChoice.item == item))
    if row is None:
        row = SourceChoice(enterprise_id=enterprise.id, item=item, source=source)
        db.session.add(row)
    before, row.source = row.source, source
    db.session.flush()
    audit("exchange.source_choice", object_type="enterprise", object_id=enterprise.uscc,
          summary={"item": item, "before": before, "after": source})
    return row


def _line_dict(ln) -> dict:
    return {k: getattr(ln, k) for k in ("flow", "item", "amount", "unit", "ncv",
                                         "carbon_content", "oxidation_rate", "factor_value",
                                         "note")}


def apply(*, enterprise_id: int, year: int, month: int) -> EnergyRecord | None:
    """Write the meter-sourced lines of one enterprise-month (no change: no revision)."""
    wanted = {i for i, s in choices(enterprise_id=enterprise_id).items() if s == "meter"}
    totals = {i: t for i, t in meter_totals(enterprise_id=enterprise_id, year=year,
                                             month=month).items() if i in wanted}
    if not totals:
        return None
    ent = db.session.get(Enterprise, enterprise_id)
    rec = db.session.scalar(select(EnergyRecord).where(
        EnergyRecord.enterprise_id == enterprise_id, EnergyRecord.period == year * 100 + month))
    lines = [_line_dict(ln) for ln in rec.lines] if rec is not None else []
    changed = False
    for item, t in totals.items():
        amount = t["amount"].quantize(Decimal("0.000001"))
        note = (f"{MARK}：{t['meters']} 块表，数据截至 "
                f"{(t['last_ts'] + timedelta(hours=8)):%Y-%m-%d %H:%M}（北京时间）")
        line = next((ln for ln in lines if ln["item"] == item and ln["flow"] == t["flow"]), None)
        if line is None:
            lines.append({"flow": t["flow"], "item": item, "amount": amount, "unit": t["unit"],
                          "note": note})
            changed = True
        elif Decimal(line["amount"]) != amount or line["unit"] != t["unit"] \
                or not (line["note"] or "").startswith(MARK):
            line.update(amount=amount, unit=t["unit"], note=note)
            changed = True
        else:
            line["note"] = note
    if not changed:
        return rec
    scope = DataScope(all=True)
    if rec is None:
        return records.create_many(items=[{"uscc": ent.uscc, "year": year, "month": month,
                                           "lines": lines}], scope=scope, source="meter",
                                   user_email="meter")[0]
    data = {"gross_output": rec.gross_output, "value_added": rec.value_added,
            "note": rec.note, "lines": lines}
    return records.update(record=rec, data=data, scope=scope, user_email="meter")


def affected(meter_ids: set[int], months: set[tuple[int, int]]) -> list[dict]:
    """(enterprise, month) pairs worth re-deriving: enterprises that chose meters."""
    if not meter_ids:
        return []
    ents = set(db.session.scalars(select(Meter.enterprise_id).where(
        Meter.id.in_(meter_ids)).distinct()))
    chose = set(db.session.scalars(select(SourceChoice.enterprise_id).where(
        SourceChoice.enterprise_id.in_(ents), SourceChoice.source == "meter").distinct()))
    return [{"enterprise_id": e, "year": y, "month": m} for e in sorted(chose)
            for y, m in sorted(months)]


def count_choices() -> int:
    return db.session.scalar(select(func.count()).select_from(SourceChoice)) or 0
