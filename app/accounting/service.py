"""The accounting domain's public face: carbon accounts computed per row (ORM + Decimal
engine), their versions, freeze (published / verified) and restatement, history and
derivation.

`compute(record=...)` writes a new version of one enterprise-month; the previous version
stays readable with `is_current = false`. Many enterprise-months at once go through
`bulk.compute_accounts` (set-based SQL) with the same results; `recompute` picks the way.
Neither rewrites a frozen month: `freeze` publishes / verifies versions, `restate` is the
one explicit, audited way to replace a frozen version (docs/accounting.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update

from app.accounting import engine, hooks
from app.accounting.models import FROZEN, STATUSES, CarbonAccount, CarbonAccountLine
from app.audit.service import record as audit
from app.db import utcnow
from app.energy import service as energy
from app.energy.models import EnergyRecord, EnergyType
from app.extensions import db
from app.identity.scope import DataScope, scoped
from app.orgs.models import Enterprise


def engine_lines(record: EnergyRecord, resolved: energy.Resolved,
                 types: dict[str, EnergyType]) -> list[engine.Line]:
    out = []
    for ln in record.lines:
        et = types.get(ln.item)
        category = "process" if ln.flow == "process" else (et.category if et else "other")
        out.append(engine.Line(
            flow=ln.flow, item=ln.item, category=category, amount=Decimal(ln.amount),
            unit=ln.unit, factor=resolved.factors.get(ln.item),
            tce_factor=et.tce_factor if et else None, ncv=ln.ncv,
            carbon_content=ln.carbon_content, oxidation_rate=ln.oxidation_rate,
            factor_value=ln.factor_value, name=et.name if et else ln.item))
    return out


class AccountError(ValueError):
    """A refused freeze or restatement; `field` names the offending argument."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _types() -> dict[str, EnergyType]:
    return {t.code: t for t in db.session.scalars(select(EnergyType))}


def current(*, enterprise_id: int, period: int) -> CarbonAccount | None:
    return db.session.scalar(select(CarbonAccount).where(
        CarbonAccount.enterprise_id == enterprise_id, CarbonAccount.period == period,
        CarbonAccount.is_current.is_(True)))


def compute(*, record: EnergyRecord, reason: str = "数据录入", cache: dict | None = None,
            types: dict[str, EnergyType] | None = None, notify: bool = True,
            restates: CarbonAccount | None = None) -> CarbonAccount | None:
    """Compute one enterprise-month with the Decimal engine and store it as a new version.
    A frozen current version (published / verified) is not rewritten: it gets
    `pending_reason` and None is returned; only `restate` passes `restates` to write over
    it. With `notify`, calls `hooks.AFTER_ACCOUNTS_CHANGED` (a caller computing many
    records passes False and notifies once)."""
    ent = record.enterprise
    prev = current(enterprise_id=ent.id, period=record.period)
    if prev is not None and prev.frozen and restates is not prev:
        prev.pending_reason = reason[:200]
        return None
    resolved = energy.resolve(year=record.year, month=record.month,
                              region_code=ent.region_code, cache=cache)
    result = engine.calculate(engine_lines(record, resolved, types or _types()),
                              gross_output=record.gross_output,
                              value_added=record.value_added)
    version = 1
    if prev is not None:
        prev.is_current = False
        version = prev.version + 1
        db.session.flush()
    elif (last := db.session.scalar(select(CarbonAccount.version).where(
            CarbonAccount.enterprise_id == ent.id, CarbonAccount.period == record.period)
            .order_by(CarbonAccount.version.desc()).limit(1))) is not None:
        version = last + 1
    acc = CarbonAccount(
        enterprise_id=ent.id, year=record.year, month=record.month, period=record.period,
        region_code=ent.region_code, industry_code=ent.industry_code, record_id=record.id,
        record_revision=record.revision, energy_tce=result.energy_tce,
        co2_total=result.co2_total, co2_combustion=result.co2_combustion,
        co2_process=result.co2_process, co2_electricity=result.co2_electricity,
        co2_heat=result.co2_heat, co2_electricity_exported=result.co2_electricity_exported,
        co2_heat_exported=result.co2_heat_exported, co2_biomass=result.co2_biomass,
        electricity_mwh=result.electricity_mwh, gross_output=record.gross_output,
        value_added=record.value_added, intensity=result.intensity,
        energy_per_output=result.energy_per_output, version=version, is_current=True,
        method="row", reason=reason[:200], status="open")
    db.session.add(acc)
    db.session.flush()
    db.session.add_all([CarbonAccountLine(
        account_id=acc.id, position=i, item=r.item, flow=r.flow, bucket=r.bucket, sign=r.sign,
        amount=r.amount, unit=r.unit, ncv=r.ncv, carbon_content=r.carbon_content,
        oxidation_rate=r.oxidation_rate, ef=r.ef.quantize(Decimal("1e-10")),
        factor_id=r.factor_id, factor_version=r.factor_version,
        parameter_origin=r.parameter_origin, co2=r.co2, tce=r.tce)
        for i, r in enumerate(result.lines)])
    db.session.flush()
    if notify:
        hooks.accounts_changed({ent.id}, {record.period})
    return acc


def compute_many(records: list[EnergyRecord], reason: str) -> int:
    """The per-row engine over several records, then one hook call; frozen months are left
    as they are (and audited once as pending). Returns the enterprise-months written."""
    cache: dict = {}
    types = _types()
    written, frozen = [], []
    for rec in records:
        acc = compute(record=rec, reason=reason, cache=cache, types=types, notify=False)
        (written if acc is not None else frozen).append(rec)
    if written:
        hooks.accounts_changed({r.enterprise_id for r in written}, {r.period for r in written})
    audit_frozen([(r.enterprise_id, r.period) for r in frozen], reason)
    return len(written)


def audit_frozen(keys: list[tuple[int, int]], reason: str) -> None:
    """One audit record naming the frozen enterprise-months a change did not rewrite."""
    if keys:
        audit("accounting.frozen_skip", object_type="carbon_account",
              summary={"reason": reason[:200], "count": len(keys),
                       "months": [f"{e}:{p}" for e, p in sorted(keys)[:200]]})


# ------------------------------------------------------------ freeze and restate


def freeze(*, enterprise_id: int, periods: list[int], status: str,
           user_email: str | None = None, note: str | None = None,
           audited: bool = True) -> list[CarbonAccount]:
    """Freeze the current versions of an enterprise's months (yyyymm) as `published` or
    `verified`. A state only moves forward (open → published → verified): a month already
    at or beyond `status` is left as it is, so freezing is idempotent. Returns the current
    versions; raises AccountError when a month has no account. `audited=False`: the caller
    audits the freeze in its own record (the workflow's one append per action)."""
    if status not in FROZEN:
        raise AccountError("status", f"冻结状态应为：{'、'.join(FROZEN)}")
    accs = {a.period: a for a in db.session.scalars(select(CarbonAccount).where(
        CarbonAccount.enterprise_id == enterprise_id, CarbonAccount.is_current.is_(True),
        CarbonAccount.period.in_(list(periods))).with_for_update())}
    missing = sorted(set(periods) - set(accs))
    if missing:
        raise AccountError("periods", "以下月份没有核算结果，无法冻结："
                           + "、".join(f"{p // 100}-{p % 100:02d}" for p in missing))
    order = list(STATUSES)
    changed = []
    for acc in accs.values():
        if order.index(acc.status) < order.index(status):
            acc.status, acc.frozen_at, acc.frozen_by = status, utcnow(), user_email
            changed.append(acc)
    db.session.flush()
    if changed and audited:
        audit("accounting.freeze", object_type="carbon_account", email=user_email,
              summary={"enterprise_id": enterprise_id, "status": status, "note": note,
                       "accounts": {a.period: [a.id, a.version] for a in changed}})
    return sorted(accs.values(), key=lambda a: a.period)


def restate(*, enterprise_id: int, period: int, reason: str,
            user_email: str | None = None) -> CarbonAccount:
    """Restatement: recompute a frozen month from its current record and factors as a new
    version that keeps the freeze (`published`; a restated `verified` month must be
    verified again), with the reason, pointing back to the version it replaces (kept,
    no longer current). Audited. Raises AccountError when there is nothing to restate."""
    reason = (reason or "").strip()
    if not reason:
        raise AccountError("reason", "请填写重述原因")
    old = db.session.scalar(select(CarbonAccount).where(
        CarbonAccount.enterprise_id == enterprise_id, CarbonAccount.period == period,
        CarbonAccount.is_current.is_(True)).with_for_update())
    if old is None:
        raise AccountError("period", "该月份没有核算结果")
    if not old.frozen:
        raise AccountError("period", "该月份未发布或核查，无需重述（重算即可）")
    record = db.session.scalar(select(EnergyRecord).where(
        EnergyRecord.enterprise_id == enterprise_id, EnergyRecord.period == period))
    if record is None:
        raise AccountError("period", "该月份的能源数据已不存在，无法重述")
    acc = compute(record=record, reason=f"重述：{reason}", restates=old)
    acc.status, acc.frozen_at, acc.frozen_by = "published", utcnow(), user_email
    acc.restates_id = old.id
    old.pending_reason = None
    db.session.flush()
    audit("accounting.restate", object_type="carbon_account", object_id=acc.id,
          email=user_email,
          summary={"enterprise_id": enterprise_id, "period": period, "reason": reason[:200],
                   "old": {"id": old.id, "version": old.version, "status": old.status,
                           "co2_total": str(old.co2_total)},
                   "new": {"id": acc.id, "version": acc.version,
                           "co2_total": str(acc.co2_total)}})
    return acc


def ratio(num: Decimal | None, den: Decimal | None) -> Decimal | None:
    """The one rounding rule for a published ratio: `engine.ratio` (half-up, 6 places)."""
    return engine.ratio(num, den)


# ------------------------------------------------------------------ reading


_CURRENT_FIGURES = (
    select(CarbonAccount.id, CarbonAccount.version, CarbonAccount.period,
           CarbonAccount.co2_total, CarbonAccount.energy_tce, CarbonAccount.electricity_mwh,
           CarbonAccount.value_added)
    .where(CarbonAccount.enterprise_id == bindparam("b_ent"),
           CarbonAccount.is_current.is_(True),
           CarbonAccount.period.in_(bindparam("b_periods", expanding=True)))
    .order_by(CarbonAccount.period))


def current_figures(*, enterprise_id: int, periods: list[int]) -> list[Any]:
    """The current accounts' figures of an enterprise's periods (yyyymm), in period order:
    what the report review checks and publishes. Unscoped: callers have checked the case.
    One prebuilt statement, as every review step of every case runs it."""
    return list(db.session.execute(_CURRENT_FIGURES, {"b_ent": enterprise_id,
                                                      "b_periods": periods}))


def get_all(*, scope: DataScope | None = None, enterprise_id: int | None = None,
            year: int | None = None, current_only: bool = True):
    stmt = scoped(select(CarbonAccount), CarbonAccount, scope).order_by(
        CarbonAccount.period.desc(), CarbonAccount.version.desc())
    if enterprise_id is not None:
        stmt = stmt.where(CarbonAccount.enterprise_id == enterprise_id)
    if year is not None:
        stmt = stmt.where(CarbonAccount.year == year)
    if current_only:
        stmt = stmt.where(CarbonAccount.is_current.is_(True))
    return stmt


def latest_year(*, enterprise_id: int | None = None) -> int:
    """The latest year with accounts (of one enterprise), else the current year."""
    from datetime import date

    from sqlalchemy import func

    stmt = select(func.max(CarbonAccount.year))
    if enterprise_id is not None:
        stmt = stmt.where(CarbonAccount.enterprise_id == enterprise_id)
    return db.session.scalar(stmt) or date.today().year


def history(*, enterprise_id: int, period: int) -> list[CarbonAccount]:
    return list(db.session.scalars(select(CarbonAccount).where(
        CarbonAccount.enterprise_id == enterprise_id, CarbonAccount.period == period)
        .order_by(CarbonAccount.version.desc())))


def derivation(account: CarbonAccount) -> dict:
    """How the number was made: inputs, factor versions, terms, totals."""
    from app.energy.models import EmissionFactor

    types = _types()
    factor_ids = {ln.factor_id for ln in account.lines if ln.factor_id}
    factors = {f.id: f for f in db.session.scalars(select(EmissionFactor).where(
        EmissionFactor.id.in_(factor_ids)))} if factor_ids else {}
    lines = []
    for ln in account.lines:
        f = factors.get(ln.factor_id)
        et = types.get(ln.item)
        if ln.bucket in ("combustion", "biomass"):
            formula = (f"{ln.amount} {ln.unit} × {ln.ncv} × {ln.carbon_content} × "
                       f"{ln.oxidation_rate} × 44/12 = {ln.co2}")
        elif ln.bucket == "renewable":
            formula = "零排放"
        else:
            formula = f"{'−' if ln.sign < 0 else ''}{ln.amount} {ln.unit} × {ln.ef} = {ln.co2}"
        lines.append({
            "item": ln.item, "name": et.name if et else (f.name if f else ln.item),
            "flow": ln.flow, "bucket": ln.bucket, "bucket_label": engine.BUCKETS[ln.bucket],
            "amount": ln.amount, "unit": ln.unit, "ncv": ln.ncv,
            "carbon_content": ln.carbon_content, "oxidation_rate": ln.oxidation_rate,
            "ef": ln.ef, "co2": ln.co2, "tce": ln.tce, "parameter_origin": ln.parameter_origin,
            "factor": None if f is None else {
                "id": f.id, "code": f.code, "version": f.version, "status": f.status,
                "year": f.year, "value": f.value, "unit": f.unit, "source": f.source},
            "formula": formula})
    return {
        "account_id": account.id, "version": account.version, "method": account.method,
        "computed_at": account.computed_at, "reason": account.reason,
        "record_id": account.record_id, "record_revision": account.record_revision,
        "formula": "E = 燃烧 + 过程 + 外购电 + 外购热 − 输出电 − 输出热（生物质单列）",
        "lines": lines}


def by_energy(*, enterprise_id: int, first: int, last: int) -> list[dict]:
    """Current emissions and tce by energy item and bucket over a month range."""
    from sqlalchemy import func

    rows = db.session.execute(
        select(CarbonAccountLine.item, CarbonAccountLine.bucket,
               func.sum(CarbonAccountLine.co2), func.sum(CarbonAccountLine.tce),
               func.sum(CarbonAccountLine.amount))
        .join(CarbonAccount, CarbonAccount.id == CarbonAccountLine.account_id)
        .where(CarbonAccount.enterprise_id == enterprise_id,
               CarbonAccount.is_current.is_(True),
               CarbonAccount.period.between(first, last))
        .group_by(CarbonAccountLine.item, CarbonAccountLine.bucket)).all()
    types = _types()
    order = {"electricity": 0}
    out = [{"item": i, "name": types[i].name if i in types else i, "bucket": b,
            "co2": c, "tce": t, "amount": a} for i, b, c, t, a in rows]
    return sorted(out, key=lambda r: (order.get(r["item"], 1), -abs(r["co2"] or 0)))


def enterprise_by_uscc(*, uscc: str, scope: DataScope | None = None) -> Enterprise | None:
    from app.identity.scope import get_scoped

    return get_scoped(Enterprise, uscc, by="uscc", scope=scope)


def mark_superseded(*, enterprise_id: int, period: int) -> None:
    db.session.execute(update(CarbonAccount).where(
        CarbonAccount.enterprise_id == enterprise_id, CarbonAccount.period == period,
        CarbonAccount.is_current.is_(True)).values(is_current=False))
