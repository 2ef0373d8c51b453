"""The factor library: energy types and emission factors loaded from the cited data files,
and superseding (never editing) a factor version. Which version prices a month is
`app.energy.resolve`; the domain's public face is `app.energy.service`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.audit.service import record as audit
from app.energy import hooks
from app.energy.models import EmissionFactor, EnergyType
from app.extensions import db

GENERIC_PROCESS = "generic"


class FactorError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# ----------------------------------------------------------------- reference loading


def load_reference() -> dict[str, int]:
    """Upsert energy types and insert factor rows not yet present (idempotent). A file row
    whose figures differ from the stored current version becomes a new version."""
    from app.refdata import loader

    types = {t.code: t for t in db.session.scalars(select(EnergyType))}
    added = {"energy_types": 0, "factors": 0}
    for i, et in enumerate(loader.load_energy_types()):
        row = types.get(et.code)
        if row is None:
            row = EnergyType(code=et.code)
            db.session.add(row)
            added["energy_types"] += 1
        row.name, row.name_en, row.category, row.unit = et.name, et.name_en, et.category, et.unit
        row.tce_factor, row.tce_source, row.note = et.tce_factor, et.tce_source or None, et.note
        row.sort_order = i
    db.session.flush()
    wanted: list[dict] = []
    for et in loader.load_energy_types():
        if et.category in ("electricity", "heat"):
            continue
        wanted.append(dict(
            code=f"combustion:{et.code}", kind="combustion", energy_code=et.code, name=et.name,
            scope="generic", scope_name="通用", year=None, unit=f"tCO2/{et.unit}",
            value=_combustion_value(et.ncv, et.carbon_content, et.oxidation_rate),
            ncv=et.ncv, ncv_unit=et.ncv_unit or None, carbon_content=et.carbon_content,
            oxidation_rate=et.oxidation_rate, source=et.param_source or None,
            note=et.note or None))
    for f in loader.load_factors():
        energy = {"heat": "heat", "process": None}.get(f.kind, "electricity")
        wanted.append(dict(
            code=f.id, kind=f.kind, energy_code=energy, name=f.scope_name, scope=f.scope,
            scope_name=f.scope_name, year=f.year, value=f.value, unit=f.unit, source=f.source,
            note=f.note or None, valid_from=f.valid_from, valid_to=f.valid_to))
    new_ids = []
    for spec in wanted:
        current = get_current(code=spec["code"])
        if current is not None and _same(current, spec):
            continue
        new_ids.append(_new_version(spec, current, reason="参考数据文件更新" if current else None,
                                    by="refdata").id)
        added["factors"] += 1
    db.session.flush()
    if added["energy_types"] or added["factors"]:
        audit("refdata.energy_load", object_type="emission_factor", summary=added)
    hooks.factors_added(new_ids)   # a new year's or corrected factor: its periods recompute
    return added


def _combustion_value(ncv, cc, of) -> Decimal | None:
    if None in (ncv, cc, of):
        return None
    return ncv * cc * of * Decimal(44) / Decimal(12)


def _same(row: EmissionFactor, spec: dict) -> bool:
    """Whether the stored version already carries these figures (Decimals compared to the
    column scale: the stored value is rounded to 10 places)."""
    for key in ("value", "ncv", "carbon_content", "oxidation_rate", "unit", "valid_from",
                "valid_to"):
        a, b = getattr(row, key), spec.get(key)
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            if (a is None) != (b is None):
                return False
            if a is not None and abs(Decimal(a) - Decimal(b)) >= Decimal("1e-9"):
                return False
        elif a != b:
            return False
    return True


def _new_version(spec: dict, current: EmissionFactor | None, *, reason: str | None,
                 by: str | None) -> EmissionFactor:
    row = EmissionFactor(**spec)
    row.version = (current.version + 1) if current else 1
    row.status = "active"
    row.created_by = by
    if current is not None:
        current.status = "superseded"
        row.supersedes_id = current.id
    db.session.add(row)
    db.session.flush()
    return row


# ---------------------------------------------------------------------- queries


def get(*, factor_id: int) -> EmissionFactor | None:
    return db.session.get(EmissionFactor, factor_id)


def get_current(*, code: str) -> EmissionFactor | None:
    return db.session.scalar(select(EmissionFactor).where(
        EmissionFactor.code == code, EmissionFactor.status == "active"))


def get_all(*, kind: str | None = None, status: str | None = "active",
            q: str | None = None):
    stmt = select(EmissionFactor).order_by(EmissionFactor.kind, EmissionFactor.code,
                                           EmissionFactor.version.desc())
    if kind:
        stmt = stmt.where(EmissionFactor.kind == kind)
    if status:
        stmt = stmt.where(EmissionFactor.status == status)
    if q:
        stmt = stmt.where(EmissionFactor.code.icontains(q, autoescape=True)
                          | EmissionFactor.name.icontains(q, autoescape=True))
    return stmt


def history(*, code: str) -> list[EmissionFactor]:
    return list(db.session.scalars(select(EmissionFactor).where(EmissionFactor.code == code)
                                   .order_by(EmissionFactor.version.desc())))


def get_energy_types(*, active_only: bool = True) -> list[EnergyType]:
    stmt = select(EnergyType).order_by(EnergyType.sort_order, EnergyType.code)
    if active_only:
        stmt = stmt.where(EnergyType.active.is_(True))
    return list(db.session.scalars(stmt))


def get_energy_type(*, code: str) -> EnergyType | None:
    return db.session.get(EnergyType, code)


def process_factors() -> list[EmissionFactor]:
    return list(db.session.scalars(select(EmissionFactor).where(
        EmissionFactor.kind == "process", EmissionFactor.status == "active")
        .order_by(EmissionFactor.code)))


# ------------------------------------------------------------------- supersede


def supersede(*, code: str, value: Decimal | None = None, ncv: Decimal | None = None,
              carbon_content: Decimal | None = None, oxidation_rate: Decimal | None = None,
              source: str, reason: str, valid_from: date | None = None,
              valid_to: date | None = None, user_email: str | None = None,
              recompute: bool = True) -> EmissionFactor:
    """A new version of factor series `code`; the old one stays, marked superseded. The new
    version applies from `valid_from` to `valid_to` (default: the old version's validity);
    periods before `valid_from` keep the old version. With `recompute`, the subscribers of
    `hooks.AFTER_FACTORS_ADDED` (accounting) recompute the periods it applies to."""
    current = get_current(code=code)
    if current is None:
        raise FactorError("code", f"因子 {code} 不存在或已停用")
    if not source or not source.strip():
        raise FactorError("source", "请填写新版本的来源文件（标准或文号）")
    if not reason or not reason.strip():
        raise FactorError("reason", "请填写修订原因")
    spec = {c: getattr(current, c) for c in (
        "code", "kind", "energy_code", "name", "scope", "scope_name", "year", "unit",
        "ncv", "ncv_unit", "carbon_content", "oxidation_rate", "valid_from", "valid_to")}
    if current.kind == "combustion":
        for name, val in (("ncv", ncv), ("carbon_content", carbon_content),
                          ("oxidation_rate", oxidation_rate)):
            if val is not None:
                if val <= 0 or (name == "oxidation_rate" and val > 1):
                    raise FactorError(name, "参数超出合理范围")
                spec[name] = val
        spec["value"] = _combustion_value(spec["ncv"], spec["carbon_content"],
                                          spec["oxidation_rate"])
    else:
        if value is None or value <= 0:
            raise FactorError("value", "因子数值必须为正数")
        spec["value"] = value
    if valid_from is not None:
        spec["valid_from"] = valid_from
    if valid_to is not None:
        spec["valid_to"] = valid_to
    if spec["valid_from"] and spec["valid_to"] and spec["valid_from"] > spec["valid_to"]:
        raise FactorError("valid_to", "失效日期不能早于生效日期")
    spec.update(source=source.strip(), note=reason.strip())
    row = _new_version(spec, current, reason=reason, by=user_email)
    audit("factor.supersede", object_type="emission_factor", object_id=row.id,
          summary={"code": code, "old_id": current.id, "old_version": current.version,
                   "new_version": row.version, "value": str(row.value), "reason": reason,
                   "valid_from": str(row.valid_from) if row.valid_from else None,
                   "valid_to": str(row.valid_to) if row.valid_to else None})
    if recompute:
        hooks.factors_added([row.id])
    return row


def factor_counts() -> dict[str, int]:
    rows = db.session.execute(select(EmissionFactor.kind, func.count()).group_by(
        EmissionFactor.kind)).all()
    return {k: n for k, n in rows}
