"""Grade-improvement planner: how much an enterprise must cut to reach the next grade, and
what measures would do, computed by the GB/T 32150 engine itself on its own records.

Target. With the enterprise's annual CO2 c and value added v, the industry benchmark's
totals C and V (the enterprise included) and the better grade's upper bound u on
K = (c/v)/(C/V): cutting to c′ changes the benchmark to (C − c + c′)/V, so
K′ ≤ u ⇔ c′ ≤ u·(C − c)/(V/v − u) (when V/v > u). For an intensity scheme, c′ ≤ u·v.

Measures change the month's engine lines, then `engine.calculate` recomputes each month
with the same factor versions as the account:
* `efficiency` (pct): every fuel, electricity and heat input × (1 − pct/100);
* `coal_to_gas` (share %): that share of each coal line's energy (amount × NCV) is burnt
  as natural gas instead (gas amount = coal energy ÷ gas NCV, library factors);
* `green_power` (share %): that share of purchased grid electricity is bought as green
  electricity, counted at zero emissions (a scenario assumption: GB/T 32150 itself has no
  green-power deduction; the Zhejiang carbon-efficiency method nets off zero-carbon power);
* `pv` (kwp, hours): on-site PV of kwp kWp at `hours` full-load hours a year, spread evenly
  over the months, replaces purchased electricity (never below zero); the hours must be
  given: the platform has no published default for them.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from app.accounting import engine
from app.extensions import db

MEASURES = {
    "efficiency": {"label": "节能改造（能效提升）", "params": {"pct": "能耗降低比例 %"}},
    "coal_to_gas": {"label": "煤改气", "params": {"share": "煤炭改用天然气的比例 %"}},
    "green_power": {"label": "购买绿色电力", "params": {"share": "外购电力中绿电比例 %"}},
    "pv": {"label": "新增分布式光伏（自发自用）",
           "params": {"kwp": "装机容量 kWp", "hours": "年等效满发小时数 h"}},
}
GAS = "natural_gas"


class PlanError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _num(raw, field: str, lo: Decimal, hi: Decimal) -> Decimal:
    try:
        v = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise PlanError(field, "应为数字") from None
    if not v.is_finite() or v < lo or v > hi:
        raise PlanError(field, f"应在 {lo} 到 {hi} 之间")
    return v


def parse_measures(raw) -> list[dict]:
    """Validate a list of measures [{"kind", ...params}] into Decimals (PlanError names the
    field, e.g. `measures.1.share`)."""
    if not isinstance(raw, list) or not raw:
        raise PlanError("measures", "至少选择一项措施")
    out = []
    for i, m in enumerate(raw[:10]):
        if not isinstance(m, dict) or m.get("kind") not in MEASURES:
            raise PlanError(f"measures.{i}.kind", "未知的措施类型")
        kind = m["kind"]
        item = {"kind": kind}
        for p in MEASURES[kind]["params"]:
            hi = {"kwp": Decimal(10 ** 7), "hours": Decimal(8760)}.get(p, Decimal(100))
            if m.get(p) in (None, ""):
                raise PlanError(f"measures.{i}.{p}", "必填")
            item[p] = _num(m[p], f"measures.{i}.{p}", Decimal(0), hi)
        out.append(item)
    return out


# ------------------------------------------------------------------ line transforms


def _efficiency(lines: list[engine.Line], pct: Decimal, ctx: dict) -> list[engine.Line]:
    keep = 1 - pct / 100
    return [dataclasses.replace(ln, amount=ln.amount * keep)
            if ln.flow in ("consumed", "purchased") and ln.category != "process" else ln
            for ln in lines]


def _coal_to_gas(lines: list[engine.Line], share: Decimal, ctx: dict) -> list[engine.Line]:
    gas_factor = ctx["factors"].get(GAS)
    gas_type = ctx["types"].get(GAS)
    if gas_factor is None or gas_factor.ncv is None or gas_type is None:
        raise PlanError("measures", "因子库中没有天然气的低位发热量，无法计算煤改气")
    out, energy_gj = [], Decimal(0)
    for ln in lines:
        if ln.flow == "consumed" and ln.category == "coal" and share > 0:
            ncv = ln.ncv if ln.ncv is not None else (ln.factor.ncv if ln.factor else None)
            if ncv is None:
                raise PlanError("measures", f"“{ln.name or ln.item}”缺少低位发热量，无法折算煤改气")
            moved = ln.amount * share / 100
            energy_gj += moved * ncv
            ln = dataclasses.replace(ln, amount=ln.amount - moved)
        out.append(ln)
    if energy_gj > 0:
        out.append(engine.Line(flow="consumed", item=GAS, category="gas",
                               amount=energy_gj / gas_factor.ncv, unit=gas_type.unit,
                               factor=gas_factor, tce_factor=gas_type.tce_factor,
                               name=f"{gas_type.name}（煤改气）"))
    return out


def _green_power(lines: list[engine.Line], share: Decimal, ctx: dict) -> list[engine.Line]:
    out = []
    for ln in lines:
        if ln.flow == "purchased" and ln.category == "electricity" \
                and ln.factor_value is None and share > 0:
            green = ln.amount * share / 100
            out.append(dataclasses.replace(ln, amount=ln.amount - green))
            out.append(dataclasses.replace(ln, amount=green, factor_value=Decimal(0),
                                           name="绿色电力（情景假设：按零排放计）"))
        else:
            out.append(ln)
    return out


def _pv(lines: list[engine.Line], kwp: Decimal, hours: Decimal, ctx: dict) -> list[engine.Line]:
    left = kwp * hours / 1000 / 12  # MWh this month
    generated = left
    out = []
    for ln in lines:
        if ln.flow == "purchased" and ln.category == "electricity" \
                and ln.factor_value is None and left > 0:
            cut = min(left, ln.amount)
            left -= cut
            ln = dataclasses.replace(ln, amount=ln.amount - cut)
        out.append(ln)
    if generated > 0:
        out.append(engine.Line(flow="self_generated", item="electricity",
                               category="electricity", amount=generated, unit="MWh",
                               name="分布式光伏（自发自用）"))
    return out


def apply(lines: list[engine.Line], measures: list[dict], ctx: dict) -> list[engine.Line]:
    """The month's lines after the measures, in the order given."""
    for m in measures:
        if m["kind"] == "efficiency":
            lines = _efficiency(lines, m["pct"], ctx)
        elif m["kind"] == "coal_to_gas":
            lines = _coal_to_gas(lines, m["share"], ctx)
        elif m["kind"] == "green_power":
            lines = _green_power(lines, m["share"], ctx)
        elif m["kind"] == "pv":
            lines = _pv(lines, m["kwp"], m["hours"], ctx)
    return lines


# ------------------------------------------------------------------ target


def target_co2(*, co2: Decimal, va: Decimal, bench_co2: Decimal | None,
               bench_va: Decimal | None, basis: str, upper: Decimal) -> Decimal | None:
    """The largest annual CO2 that still reaches grade bound `upper` (see module doc);
    None when no cut can reach it."""
    if va is None or va <= 0:
        return None
    with_ctx = engine.EXACT
    if basis == "intensity":
        return engine.q6(with_ctx.multiply(upper, va))
    if not bench_co2 or not bench_va or bench_va <= 0:
        return None
    den = with_ctx.subtract(with_ctx.divide(bench_va, va), upper)
    if den <= 0:
        return None
    c_max = with_ctx.divide(with_ctx.multiply(upper, bench_co2 - co2), den)
    return engine.q6(c_max) if c_max >= 0 else None


def k_after(*, co2_new: Decimal, co2_old: Decimal, va: Decimal, bench_co2: Decimal,
            bench_va: Decimal) -> Decimal | None:
    """K with the benchmark moved by the enterprise's own change."""
    return engine.k_value(co2_new, va, bench_co2 - co2_old + co2_new, bench_va)


def records_for(*, enterprise_id: int, year: int) -> list:
    from app.energy.models import EnergyRecord

    return list(db.session.scalars(select(EnergyRecord).where(
        EnergyRecord.enterprise_id == enterprise_id, EnergyRecord.year == year).order_by(
        EnergyRecord.period)))
