"""Public institutions (事业单位, R-6.1.4): monthly energy and CO2, reduction against the
institution's base year, and the public disclosure of published institutions.

Accounting of enterprises does not cover institutions, so their monthly figures live in
`InstitutionEnergy`, computed with the same GB/T 32150 engine and factor library (fuels are
scope 1 combustion, purchased electricity and heat scope 2, as ISO 14064-1 inventories
group them)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from app.accounting import engine
from app.extensions import db
from app.i18n import Msg
from app.identity.scope import DataScope, scope_clause
from app.monitoring.datasets import Column, Dataset, pct, rnd
from app.monitoring.models import InstitutionEnergy
from app.orgs.models import Institution

#: engine bucket -> ISO 14064-1 scope (biomass CO2 is reported apart, in no scope)
SCOPE_OF = {"combustion": 1, "electricity": 2, "heat": 2, "biomass": None}


class InstitutionDataError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def price_lines(*, institution: Institution, year: int, month: int, lines: list[dict],
                types: dict, cache: dict | None = None) -> list[dict]:
    """Each line ({"item", "flow", "amount"} + measured parameters) as the row it will be
    stored as (amount, tce, co2, derivation: ISO 14064-1 scope, factor with its source,
    formulas); InstitutionDataError naming the line when the library cannot price it."""
    from app.energy import service as energy

    resolved = energy.resolve(year=year, month=month, region_code=institution.region_code,
                              cache=cache)
    out = []
    for i, ln in enumerate(lines):
        et = types[ln["item"]]
        factor = resolved.factors.get(et.code)
        try:
            res = engine.compute_line(engine.Line(
                flow=ln["flow"], item=et.code, category=et.category, amount=ln["amount"],
                unit=et.unit, factor=factor, tce_factor=et.tce_factor, name=et.name,
                ncv=ln.get("ncv"), carbon_content=ln.get("carbon_content"),
                oxidation_rate=ln.get("oxidation_rate"), factor_value=ln.get("factor_value")))
        except engine.EngineError as exc:
            raise InstitutionDataError(f"lines.{i}.{exc.field}", exc.message) from None
        co2 = Decimal(0) if res.bucket == "biomass" else res.co2
        derivation = {
            "flow": res.flow, "bucket": res.bucket, "scope": SCOPE_OF.get(res.bucket),
            "bucket_label": engine.BUCKETS[res.bucket], "formula": res.formula,
            "ef": str(res.ef), "parameter_origin": res.parameter_origin,
            "ncv": _s(res.ncv), "carbon_content": _s(res.carbon_content),
            "oxidation_rate": _s(res.oxidation_rate),
            "factor": None if factor is None else {
                "id": factor.id, "code": factor.code, "version": factor.version,
                "year": factor.year, "unit": factor.unit, "source": factor.source},
            "factor_note": resolved.notes.get(et.code),
            "tce_factor": _s(et.tce_factor),
            "tce_formula": (f"{res.amount} {et.unit} × {et.tce_factor} tce/{et.unit} = "
                            f"{res.tce} tce") if et.tce_factor is not None else "无折标系数",
            "note": ln.get("note")}
        out.append({"item": et.code, "unit": et.unit, "amount": res.amount, "tce": res.tce,
                    "co2": co2, "factor_id": res.factor_id, "derivation": derivation})
    return out


def _s(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def write_month(*, institution: Institution, year: int, month: int, rows: list[dict],
                source: str, verified: bool = False, verified_by: str | None = None) -> None:
    """Replace one institution-month with computed rows (flush, no commit)."""
    period = year * 100 + month
    db.session.execute(InstitutionEnergy.__table__.delete().where(
        InstitutionEnergy.institution_id == institution.id,
        InstitutionEnergy.period == period))
    for r in rows:
        db.session.add(InstitutionEnergy(
            institution_id=institution.id, period=period, year=year, month=month,
            verified=verified, verified_by=verified_by, source=source, **r))
    db.session.flush()


def record_month(*, institution: Institution, year: int, month: int, lines: list[dict],
                 verified: bool = False, verified_by: str | None = None) -> list[InstitutionEnergy]:
    """Store (replace) one institution-month: lines of {"item": energy code, "amount": n}
    (fuels consumed, electricity and heat purchased), priced and stored with their
    derivation by `price_lines` (the demo and tests use this short form)."""
    from app.energy import service as energy

    if not 1 <= month <= 12:
        raise InstitutionDataError("month", "月份应在 1–12 之间")
    types = energy.catalogue()[0]
    clean = []
    for i, ln in enumerate(lines):
        et = types.get(ln.get("item"))
        if et is None:
            raise InstitutionDataError(f"lines.{i}.item", f"未知能源品种 {ln.get('item')!r}")
        flow = "purchased" if et.category in ("electricity", "heat") else "consumed"
        clean.append({"item": et.code, "flow": flow, "amount": Decimal(str(ln["amount"]))})
    rows = price_lines(institution=institution, year=year, month=month, lines=clean,
                       types=types)
    write_month(institution=institution, year=year, month=month, rows=rows,
                             source="demo", verified=verified, verified_by=verified_by)
    return list(db.session.scalars(select(InstitutionEnergy).where(
        InstitutionEnergy.institution_id == institution.id,
        InstitutionEnergy.period == year * 100 + month)))


def _institutions(scope: DataScope | None, public: bool):
    stmt = select(Institution).where(Institution.kind == "public")
    if public:
        stmt = stmt.where(Institution.published.is_(True))
    elif scope is not None and not scope.all:
        stmt = stmt.where(scope_clause(Institution, scope))
    return stmt.order_by(Institution.code)


def institution_view(*, scope: DataScope | None, year: int | None, public: bool) -> dict:
    """Annual CO2 per institution against its base year, monthly trend, energy mix.
    `public`: only published institutions and published rows (the disclosure page)."""
    insts = list(db.session.scalars(_institutions(scope, public)))
    ids = [i.id for i in insts]
    rows_filter = [InstitutionEnergy.institution_id.in_(ids)]
    if public:
        rows_filter.append(InstitutionEnergy.published.is_(True))
    by_month: dict[tuple[int, int], dict[int, tuple]] = {}
    for iid, y, m, co2, tce in (db.session.execute(
            select(InstitutionEnergy.institution_id, InstitutionEnergy.year,
                   InstitutionEnergy.month, func.sum(InstitutionEnergy.co2),
                   func.sum(InstitutionEnergy.tce))
            .where(*rows_filter).group_by(InstitutionEnergy.institution_id,
                                          InstitutionEnergy.year, InstitutionEnergy.month))
            if ids else []):
        by_month.setdefault((iid, y), {})[m] = (co2, tce)

    def _sum(key: tuple[int, int], months: set[int] | None = None) -> tuple:
        cells = [v for m, v in by_month.get(key, {}).items() if months is None or m in months]
        if not cells:
            return None, None
        return (sum((c for c, _ in cells if c is not None), start=type(cells[0][0])(0)),
                sum((t for _, t in cells if t is not None), start=type(cells[0][1])(0)))

    annual = {key: _sum(key) for key in by_month}
    verified = {(iid, y): bool(v) for iid, y, v in db.session.execute(
        select(InstitutionEnergy.institution_id, InstitutionEnergy.year,
               func.min(func.cast(InstitutionEnergy.verified, db.Integer)))
        .where(*rows_filter).group_by(InstitutionEnergy.institution_id,
                                      InstitutionEnergy.year))} if ids else {}
    years = sorted({y for _, y in annual})
    if year not in years:  # default: the latest complete year (a partial year flatters)
        months = dict(db.session.execute(
            select(InstitutionEnergy.year, func.count(func.distinct(InstitutionEnergy.month)))
            .where(*rows_filter).group_by(InstitutionEnergy.year)).all()) if ids else {}
        # the latest complete year after the base years; failing that the latest year,
        # compared month for month (a base year compared with itself says nothing)
        bases = [i.base_year for i in insts if i.base_year]
        after = max(bases) if bases else 0
        complete = [y for y in years if months.get(y) == 12 and y > after]
        later = [y for y in years if y > after]
        year = complete[-1] if complete else (later[-1] if later else
                                              (years[-1] if years else None))
    rows, partial = [], False
    for inst in insts:
        cur = annual.get((inst.id, year), (None, None))
        months = set(by_month.get((inst.id, year), {}))
        # like with like: a year not yet complete is compared with the same months of the
        # base year, never with a whole base year
        same = months if months and len(months) < 12 else None
        partial = partial or same is not None
        base = _sum((inst.id, inst.base_year), same) if inst.base_year else (None, None)
        reduction = None if cur[0] is None or base[0] is None else base[0] - cur[0]
        rows.append([inst.code, inst.name, inst.region.name if inst.region else "",
                     str(inst.base_year or "—"), rnd(base[0], 3), rnd(cur[0], 3),
                     rnd(cur[1], 3), rnd(reduction, 3), pct(reduction, base[0]),
                     "已核查" if verified.get((inst.id, year)) else "未核查"])
    table = Dataset(
        "institutions", Msg("公共机构排放与减排（%(year)s 年对比基准年）", year=year or "—"),
        [Column("code", "机构代码", kind="text"), Column("name", "机构名称", kind="text"),
         Column("region", "所在地区", kind="text"), Column("base_year", "基准年", kind="text"),
         Column("base_co2", "基准年排放", "吨 CO2"),
         Column("co2", Msg("%(year)s年排放", year=year or ""), "吨 CO2"),
         Column("tce", Msg("%(year)s年能耗", year=year or ""), "吨标准煤"),
         Column("reduction", "减排量", "吨 CO2"),
         Column("reduction_pct", "减排率", "%"), Column("verified", "核查状态", kind="text")],
        rows, {"type": "bar", "x": "name", "series": ["base_co2", "co2"],
               "y_name": "CO2 排放量（吨 CO2）", "x_name": "机构"},
        Msg("%(compare)s减排量 = 基准年排放 − 当年排放（正值为减排）；核算依据 GB/T 32150-2015，"
            "清单边界按 ISO 14064-1（范围一：化石燃料燃烧；范围二：外购电力、热力）",
            compare=Msg("本年数据不满 12 个月的机构，基准年取相同月份对比；") if partial
            else Msg("全年对全年对比；")))
    monthly = dict(db.session.execute(
        select(InstitutionEnergy.period, func.sum(InstitutionEnergy.co2))
        .where(*rows_filter, InstitutionEnergy.year == year)
        .group_by(InstitutionEnergy.period)).all()) if ids and year else {}
    trend = Dataset("monthly", Msg("%(year)s年逐月排放（合计）", year=year or ""),
                    [Column("period", "月份", kind="text"), Column("co2", "CO2 排放量", "吨 CO2")],
                    [[f"{year}-{m:02d}", rnd(monthly.get(year * 100 + m), 3)]
                     for m in range(1, 13)] if year else [],
                    {"type": "line", "x": "period", "series": ["co2"],
                     "y_name": "CO2 排放量（吨 CO2）", "x_name": "月份"})
    return {"year": year, "years": years, "datasets": [table, trend],
            "institutions": len(insts)}
