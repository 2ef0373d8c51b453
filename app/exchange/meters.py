"""Meters: validated with the energy records' own unit table, scoped by enterprise."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from app.audit.service import record as audit
from app.energy.models import EnergyType
from app.energy.records import UNIT_ALIASES, RecordError, parse_decimal
from app.exchange.models import Meter
from app.extensions import db
from app.identity.scope import DataScope, get_scoped, scoped
from app.orgs.models import Enterprise

FIELDS = ("enterprise", "external_id", "name", "energy_type", "unit", "multiplier",
          "source_system", "installed_at")


#: far above any CT x PT ratio in service (220 kV/100 V x 3000/5 A = 1,320,000), below
#: what the column (18, 6) holds
MAX_MULTIPLIER = Decimal(1_000_000_000)


def unit_factor(energy_type: EnergyType, unit: str) -> Decimal | None:
    """How many of the energy type's base unit one `unit` is (None: not convertible)."""
    return UNIT_ALIASES.get(energy_type.unit, {energy_type.unit: Decimal(1)}).get(unit)


def parse_ts(raw, path: str, errors: dict, label: str = "时间") -> datetime | None:
    """ISO 8601 with a zone -> naive UTC."""
    from datetime import UTC

    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw or "").strip())
        except ValueError:
            errors[path] = (f"{label}格式不正确，应为带时区的 ISO 8601"
                            "（如 2026-12-01T08:00:00+08:00）")
            return None
    if value.tzinfo is None:
        errors[path] = f"{label}须带时区（如 +08:00 或 Z）"
        return None
    return value.astimezone(UTC).replace(tzinfo=None)


def validate(data: dict, *, scope: DataScope, prefix: str = "") -> tuple[dict | None, dict]:
    errors: dict[str, str] = {}
    p = prefix
    uscc = str(data.get("enterprise") or data.get("uscc") or "").strip()
    ent = get_scoped(Enterprise, uscc, by="uscc", scope=scope) if uscc else None
    if not uscc:
        errors[p + "enterprise"] = "请填写企业统一社会信用代码"
    elif ent is None:
        errors[p + "enterprise"] = "该统一社会信用代码的企业不存在或不在您的数据范围内"
    ext = str(data.get("external_id") or "").strip()
    if not ext:
        errors[p + "external_id"] = "请填写计量表编号"
    elif len(ext) > 80:
        errors[p + "external_id"] = "计量表编号不能超过 80 个字符"
    elif db.session.scalar(select(Meter.id).where(Meter.external_id == ext)) is not None:
        errors[p + "external_id"] = f"计量表编号“{ext}”已存在"
    code = str(data.get("energy_type") or "").strip()
    et = db.session.get(EnergyType, code) if code else None
    unit = str(data.get("unit") or "").strip()
    if et is None or not et.active:
        errors[p + "energy_type"] = f"未知的能源品种“{code}”" if code else "请选择能源品种"
    elif unit_factor(et, unit) is None:
        errors[p + "unit"] = (f"单位不匹配：“{et.name}”的计量单位应为 {et.unit} "
                              f"或可换算的单位（当前“{unit}”）")
    mult = Decimal(1)
    if data.get("multiplier") not in (None, ""):
        mult = parse_decimal(data.get("multiplier"), p + "multiplier", errors, "倍率",
                             positive=True)
        if mult is not None and mult > MAX_MULTIPLIER:
            errors[p + "multiplier"] = f"倍率不能超过 {MAX_MULTIPLIER:,}（请检查 CT/PT 变比）"
    for key, limit, label in (("name", 120, "名称"), ("source_system", 60, "来源系统")):
        if len(str(data.get(key) or "")) > limit:
            errors[p + key] = f"{label}不能超过 {limit} 个字符"
    installed = None
    if data.get("installed_at"):
        installed = parse_ts(data["installed_at"], p + "installed_at", errors, "启用时间")
    if errors:
        return None, errors
    return {"enterprise_id": ent.id, "external_id": ext, "name": data.get("name") or None,
            "energy_type": et.code, "unit": unit, "multiplier": mult,
            "source_system": data.get("source_system") or None,
            "installed_at": installed}, {}


def create(*, data: dict, scope: DataScope) -> Meter:
    clean, errors = validate(data, scope=scope)
    if errors:
        raise RecordError(errors)
    meter = Meter(**clean)
    db.session.add(meter)
    db.session.flush()
    audit("meter.create", object_type="meter", object_id=meter.id,
          summary={"external_id": meter.external_id, "enterprise_id": meter.enterprise_id,
                   "energy_type": meter.energy_type, "unit": meter.unit,
                   "multiplier": str(meter.multiplier)})
    return meter


def create_many(*, items: list[dict], scope: DataScope) -> list[Meter]:
    """All or nothing: every row is checked (including duplicates within the list)."""
    errors: dict[str, str] = {}
    cleaned, seen = [], {}
    for i, item in enumerate(items):
        clean, errs = validate(item, scope=scope, prefix=f"{i}.")
        errors.update(errs)
        if clean:
            if clean["external_id"] in seen:
                errors[f"{i}.external_id"] = f"与第 {seen[clean['external_id']] + 1} 行重复"
            seen.setdefault(clean["external_id"], i)
            cleaned.append(clean)
    if errors:
        raise RecordError(errors)
    meters = [Meter(**c) for c in cleaned]
    db.session.add_all(meters)
    db.session.flush()
    audit("meter.create", object_type="meter",
          summary={"count": len(meters), "external_ids": [m.external_id for m in meters[:100]]})
    return meters


def get_by_external_id(*, external_id: str, scope: DataScope) -> Meter | None:
    return get_scoped(Meter, external_id, by="external_id", scope=scope)


def get_all(*, scope: DataScope, uscc: str | None = None):
    stmt = scoped(select(Meter), Meter, scope).order_by(Meter.external_id)
    if uscc:
        stmt = stmt.join(Enterprise, Enterprise.id == Meter.enterprise_id).where(
            Enterprise.uscc == uscc)
    return stmt


def by_external_ids(ids: set[str], *, scope: DataScope) -> tuple[dict[str, Meter], set[str]]:
    """Meters in scope by external id, and the ids that exist but lie outside the scope."""
    found: dict[str, Meter] = {}
    ids = {i for i in ids if i}
    chunk = list(ids)
    for start in range(0, len(chunk), 1000):
        part = chunk[start:start + 1000]
        for m in db.session.scalars(scoped(select(Meter), Meter, scope).where(
                Meter.external_id.in_(part))):
            found[m.external_id] = m
    missing = ids - set(found)
    outside = set()
    if missing:
        outside = set(db.session.scalars(select(Meter.external_id).where(
            Meter.external_id.in_(list(missing)[:1000]))))
    return found, outside
