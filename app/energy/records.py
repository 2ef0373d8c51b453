"""Monthly enterprise records: validate (field-level Chinese messages), create, update.

Every entry path (form, `POST /api/v1/energy-records`, `cecp import energy`) goes through
`validate` and then `create_many` / `update`: all records of a batch are checked before any
is written, so a bad row leaves nothing half-written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.audit.service import record as audit
from app.energy import hooks
from app.energy.factors import GENERIC_PROCESS
from app.energy.kinds import FLOWS, FUEL_CATEGORIES
from app.energy.models import EmissionFactor, EnergyLine, EnergyRecord, EnergyType
from app.extensions import db
from app.i18n import Msg
from app.identity.scope import DataScope, get_scoped
from app.orgs.models import Enterprise

#: accepted spellings of units, converted to each energy type's base unit
UNIT_ALIASES: dict[str, dict[str, Decimal]] = {
    "MWh": {"MWh": Decimal(1), "兆瓦时": Decimal(1), "kWh": Decimal("0.001"),
            "千瓦时": Decimal("0.001"), "度": Decimal("0.001"), "万kWh": Decimal(10),
            "万千瓦时": Decimal(10)},
    "t": {"t": Decimal(1), "吨": Decimal(1), "kg": Decimal("0.001"), "千克": Decimal("0.001")},
    "GJ": {"GJ": Decimal(1), "吉焦": Decimal(1), "MJ": Decimal("0.001"),
           "百万千焦": Decimal(1)},
    "10^4 Nm3": {"10^4 Nm3": Decimal(1), "10^4Nm3": Decimal(1), "万Nm3": Decimal(1),
                 "万立方米": Decimal(1), "万m3": Decimal(1), "Nm3": Decimal("0.0001"),
                 "m3": Decimal("0.0001"), "立方米": Decimal("0.0001")},
}
MAX_AMOUNT = Decimal("1e13")
#: decimal places of the stored line figures (energy_line columns); record money: 4
LINE_SCALES = {"amount": 6, "ncv": 6, "carbon_content": 8, "oxidation_rate": 6,
               "factor_value": 10}
MONEY_PLACES = Decimal("0.0001")


class RecordError(ValueError):
    """Validation failed: `fields` maps a field path to its Chinese message."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("；".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass
class Clean:
    enterprise: Enterprise
    year: int
    month: int
    gross_output: Decimal | None
    value_added: Decimal | None
    note: str | None
    lines: list[dict] = field(default_factory=list)

    @property
    def period(self) -> int:
        return self.year * 100 + self.month


def _dec(raw: Any, path: str, errors: dict, label: str, *, required: bool = False,
         positive: bool = False) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[path] = Msg("请填写%(label)s", label=label)
        return None
    if isinstance(raw, bool) or isinstance(raw, float) and raw != raw:
        errors[path] = Msg("%(label)s必须是数字", label=label)
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        errors[path] = Msg("%(label)s必须是数字", label=label)
        return None
    if not value.is_finite():
        errors[path] = Msg("%(label)s必须是数字", label=label)
    elif value < 0:
        errors[path] = Msg("%(label)s不能为负数", label=label)
    elif positive and value == 0:
        errors[path] = Msg("%(label)s必须大于 0", label=label)
    elif value > MAX_AMOUNT:
        errors[path] = Msg("%(label)s数值过大，请检查单位", label=label)
    else:
        return value
    return None


def _money(value: Decimal | None) -> Decimal | None:
    """万元 to the stored 4 places, half-up (what the column keeps)."""
    return None if value is None else value.quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)


def _int(raw: Any, path: str, errors: dict, label: str, lo: int, hi: int) -> int | None:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        errors[path] = Msg("请填写正确的%(label)s", label=label)
        return None
    if not lo <= value <= hi:
        errors[path] = Msg("%(label)s应在 %(lo)s 至 %(hi)s 之间", label=label, lo=lo, hi=hi)
        return None
    return value


def _catalogue() -> tuple[dict[str, EnergyType], dict[str, EmissionFactor], dict]:
    """(active energy types, process factors, fuels whose library parameters are
    incomplete: such a line needs measured values)."""
    types = {t.code: t for t in db.session.scalars(select(EnergyType).where(
        EnergyType.active.is_(True)))}
    procs = {f.code: f for f in db.session.scalars(select(EmissionFactor).where(
        EmissionFactor.kind == "process", EmissionFactor.status == "active"))}
    params = ("ncv", "carbon_content", "oxidation_rate")
    missing = {code: set(params) for code in types}
    for f in db.session.scalars(select(EmissionFactor).where(
            EmissionFactor.kind == "combustion", EmissionFactor.status == "active")):
        missing[f.energy_code] = {p for p in params if getattr(f, p) is None}
    return types, procs, {k: v for k, v in missing.items() if v}


def _line(raw: dict, path: str, errors: dict, types: dict, procs: dict,
          incomplete: dict | None = None) -> dict | None:
    incomplete = incomplete or {}
    if not isinstance(raw, dict):
        errors[path] = "明细行格式不正确"
        return None
    n = len(errors)
    flow = (raw.get("flow") or "").strip()
    item = (raw.get("item") or raw.get("energy_type") or raw.get("process") or "").strip()
    unit = (raw.get("unit") or "").strip()
    if flow not in FLOWS:
        errors[f"{path}.flow"] = "流向必须是：" + "、".join(f"{k}（{v}）" for k, v in FLOWS.items())
    amount = _dec(raw.get("amount"), f"{path}.amount", errors, "数量", required=True)
    out = {"flow": flow, "item": item, "amount": amount, "unit": unit,
           "note": (raw.get("note") or None)}
    for key, label in (("ncv", "低位发热量"), ("carbon_content", "单位热值含碳量"),
                       ("oxidation_rate", "碳氧化率"), ("factor_value", "排放因子")):
        out[key] = _dec(raw.get(key), f"{path}.{key}", errors, label, positive=True)
    if out["oxidation_rate"] is not None and out["oxidation_rate"] > 1:
        errors[f"{path}.oxidation_rate"] = "碳氧化率应为不大于 1 的小数（如 0.98）"
    if flow == "process":
        if item == GENERIC_PROCESS:
            if out["factor_value"] is None and f"{path}.factor_value" not in errors:
                errors[f"{path}.factor_value"] = "通用过程排放行须填写排放因子（tCO2/单位）"
            if not unit:
                errors[f"{path}.unit"] = "请填写活动数据单位"
        elif item not in procs:
            errors[f"{path}.item"] = Msg("未知的工业过程类型“%(item)s”", item=item)
        elif unit not in UNIT_ALIASES["t"]:
            errors[f"{path}.unit"] = Msg("单位不匹配：工业过程活动数据单位应为 t（当前“%(unit)s”）",
                                         unit=unit)
        elif amount is not None:
            out["amount"], out["unit"] = amount * UNIT_ALIASES["t"][unit], "t"
        return _to_scale(out, path, errors) if len(errors) == n else None
    et = types.get(item)
    if et is None:
        errors[f"{path}.item"] = (Msg("未知的能源品种“%(item)s”", item=item) if item
                                  else "请选择能源品种")
        return None
    if flow in FLOWS and not _flow_fits(flow, et.category):
        errors[f"{path}.flow"] = Msg("“%(item)s”不能填报为“%(flow)s”", item=et.name,
                                     flow=FLOWS[flow])
    elif flow == "consumed" and any(out[k] is None for k in incomplete.get(item, ())):
        missing = [k for k in ("ncv", "carbon_content", "oxidation_rate")
                   if k in incomplete[item] and out[k] is None]
        errors[f"{path}.{missing[0]}"] = Msg(
            "因子库中“%(item)s”的排放参数不完整，请填写实测的低位发热量、单位热值含碳量和碳氧化率",
            item=et.name)
    conv = UNIT_ALIASES.get(et.unit, {et.unit: Decimal(1)})
    if unit not in conv:
        errors[f"{path}.unit"] = Msg(
            "单位不匹配：“%(item)s”的计量单位应为 %(expected)s（当前“%(unit)s”）", item=et.name,
            expected=et.unit, unit=unit)
    elif amount is not None and conv[unit] != 1:
        out["note"] = out["note"] or f"原始填报 {amount} {unit}"
        out["amount"], out["unit"] = amount * conv[unit], et.unit
    else:
        out["unit"] = et.unit
    return _to_scale(out, path, errors) if len(errors) == n else None


def _to_scale(out: dict, path: str, errors: dict) -> dict | None:
    """Figures as they will be stored: rounded half-up to their column's scale (after unit
    conversion), so the per-row engine computes on exactly what the set-based path reads.
    A positive parameter that rounds to 0 is refused."""
    for key, places in LINE_SCALES.items():
        value = out.get(key)
        if value is None:
            continue
        out[key] = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if key != "amount" and out[key] == 0:
            errors[f"{path}.{key}"] = Msg("数值过小（最多保留 %(places)s 位小数）", places=places)
            return None
    return out


def _flow_fits(flow: str, category: str) -> bool:
    if category in FUEL_CATEGORIES or category == "biomass":
        return flow == "consumed"
    if category == "electricity":
        return flow in ("purchased", "exported", "self_generated")
    if category == "heat":
        return flow in ("purchased", "exported")
    return False


def validate(data: dict, *, scope: DataScope, today: date | None = None,
             prefix: str = "", catalogue=None) -> tuple[Clean | None, dict[str, str]]:
    """Check one record; returns (clean, {}) or (None, {field path: message})."""
    from app.refdata.uscc import validate_uscc

    errors: dict[str, str] = {}
    p = prefix
    types, procs, incomplete = catalogue or _catalogue()
    enterprise = None
    try:
        uscc = validate_uscc(str(data.get("uscc") or ""))
        enterprise = get_scoped(Enterprise, uscc, by="uscc", scope=scope)
        if enterprise is None:
            errors[p + "uscc"] = "该统一社会信用代码的企业不存在或不在您的数据范围内"
    except ValueError as exc:
        errors[p + "uscc"] = str(exc)
    year = _int(data.get("year"), p + "year", errors, "年份", 2000, 2100)
    month = _int(data.get("month"), p + "month", errors, "月份", 1, 12)
    today = today or date.today()
    if year and month and year * 100 + month > today.year * 100 + today.month:
        errors[p + "month"] = Msg("不能填报未来月份（%(period)s）", period=f"{year}-{month:02d}")
    gross = _money(_dec(data.get("gross_output"), p + "gross_output", errors, "工业总产值"))
    va = _money(_dec(data.get("value_added"), p + "value_added", errors, "工业增加值"))
    raw_lines = data.get("lines") or []
    if not isinstance(raw_lines, list) or not raw_lines:
        errors[p + "lines"] = "请至少填写一行能源或过程数据"
        raw_lines = []
    lines = [_line(raw, f"{p}lines.{i}", errors, types, procs, incomplete)
             for i, raw in enumerate(raw_lines)]
    seen: dict[tuple, int] = {}
    for i, ln in enumerate(lines):
        if ln is None:
            continue
        key = (ln["flow"], ln["item"])
        if key in seen and ln["item"] != GENERIC_PROCESS:
            errors[f"{p}lines.{i}.item"] = Msg(
                "与第 %(row)s 行重复（同一品种与流向请合并填写）", row=seen[key] + 1)
        seen.setdefault(key, i)
    if errors:
        return None, errors
    return Clean(enterprise, year, month, gross, va, (data.get("note") or None),
                 [ln for ln in lines if ln]), {}


def _existing(enterprise_id: int, period: int) -> EnergyRecord | None:
    return db.session.scalar(select(EnergyRecord).where(
        EnergyRecord.enterprise_id == enterprise_id, EnergyRecord.period == period))


def validate_many(items: list[dict], *, scope: DataScope, today: date | None = None,
                  allow_existing: bool = False, label: str = "records"):
    """Validate a batch; duplicates inside the batch or already stored are errors."""
    catalogue = _catalogue()
    cleaned: list[Clean] = []
    errors: dict[str, str] = {}
    seen: dict[tuple[int, int], int] = {}
    for i, item in enumerate(items):
        prefix = f"{label}.{i}." if label else f"{i}."
        if not isinstance(item, dict):
            errors[prefix.rstrip(".")] = "记录格式不正确"
            continue
        clean, errs = validate(item, scope=scope, today=today, prefix=prefix,
                               catalogue=catalogue)
        errors.update(errs)
        if clean is None:
            continue
        key = (clean.enterprise.id, clean.period)
        if key in seen:
            errors[prefix + "month"] = Msg("与第 %(n)s 条记录月份重复", n=seen[key] + 1)
        elif not allow_existing and _existing(*key) is not None:
            errors[prefix + "month"] = Msg(
                "%(period)s 的数据已存在，请修改已有记录", period=f"{clean.year}-{clean.month:02d}")
        seen.setdefault(key, i)
        cleaned.append(clean)
    return cleaned, errors


def _apply_lines(rec: EnergyRecord, lines: list[dict]) -> None:
    rec.lines.clear()
    db.session.flush()
    for pos, ln in enumerate(lines):
        rec.lines.append(EnergyLine(position=pos, **ln))


def create_many(*, items: list[dict], scope: DataScope, source: str = "api",
                user_email: str | None = None, today: date | None = None,
                compute: bool = True) -> list[EnergyRecord]:
    """Validate every item, then write all (or raise RecordError and write nothing)."""
    cleaned, errors = validate_many(items, scope=scope, today=today)
    if errors:
        raise RecordError(errors)
    records = []
    for c in cleaned:
        rec = EnergyRecord(enterprise_id=c.enterprise.id, year=c.year, month=c.month,
                           period=c.period, gross_output=c.gross_output,
                           value_added=c.value_added, source=source, note=c.note,
                           created_by=user_email)
        db.session.add(rec)
        _apply_lines(rec, c.lines)
        records.append(rec)
    db.session.flush()
    audit("energy_record.create", object_type="energy_record",
          object_id=str(records[0].id) if len(records) == 1 else None,
          summary={"count": len(records), "source": source,
                   "ids": [r.id for r in records[:200]],
                   "periods": sorted({f"{c.enterprise.uscc}:{c.period}" for c in cleaned})[:50]})
    if compute:
        _after_change(records)
    return records


def create(*, data: dict, scope: DataScope, source: str = "form",
           user_email: str | None = None, today: date | None = None) -> EnergyRecord:
    try:
        return create_many(items=[data], scope=scope, source=source, user_email=user_email,
                           today=today)[0]
    except RecordError as exc:
        raise RecordError({k.removeprefix("records.0."): v
                           for k, v in exc.fields.items()}) from None


def update(*, record: EnergyRecord, data: dict, scope: DataScope,
           user_email: str | None = None, today: date | None = None) -> EnergyRecord:
    """Replace a record's figures (same enterprise and month); recomputes its account."""
    data = {**data, "uscc": record.enterprise.uscc, "year": record.year,
            "month": record.month}
    clean, errors = validate(data, scope=scope, today=today)
    if errors:
        raise RecordError(errors)
    record.gross_output, record.value_added = clean.gross_output, clean.value_added
    record.note = clean.note
    record.revision += 1
    _apply_lines(record, clean.lines)
    db.session.flush()
    audit("energy_record.update", object_type="energy_record", object_id=record.id,
          summary={"uscc": record.enterprise.uscc, "period": record.period,
                   "revision": record.revision})
    _after_change([record])
    return record


def _after_change(records: list[EnergyRecord]) -> None:
    """Accounting (subscribed in its `register`) recomputes the months that are not frozen."""
    hooks.records_changed(records)


def get_all(*, scope: DataScope, uscc: str | None = None, year: int | None = None):
    from app.identity.scope import scoped

    stmt = scoped(select(EnergyRecord), EnergyRecord, scope).join(
        Enterprise, Enterprise.id == EnergyRecord.enterprise_id).order_by(
        EnergyRecord.period.desc(), Enterprise.name)
    if uscc:
        stmt = stmt.where(Enterprise.uscc == uscc)
    if year:
        stmt = stmt.where(EnergyRecord.year == year)
    return stmt


parse_decimal = _dec
parse_int = _int
catalogue = _catalogue
validate_line = _line
