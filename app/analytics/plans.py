"""The planner's database side: an enterprise's year, its grade target and scenarios
evaluated month by month with the accounting engine (formulas in `planner`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.accounting import codes, engine
from app.accounting import service as accounting
from app.analytics import planner
from app.analytics.models import Scenario
from app.audit.service import record as audit
from app.energy import service as energy
from app.energy.models import EnergyType
from app.extensions import db
from app.orgs.models import Enterprise

SOURCES = ("co2_combustion", "co2_process", "co2_electricity", "co2_heat",
           "co2_electricity_exported", "co2_heat_exported")


def _code(enterprise: Enterprise, year: int):
    return codes.current_for(enterprise_id=enterprise.id, period_key=str(year),
                             scheme_id=codes.DEFAULT_SCHEMES[0])


def _bench(code) -> Any:
    from app.accounting.models import IndustryBenchmark as B

    if code is None or code.industry_code is None:
        return None
    return db.session.scalar(select(B).where(
        B.period_key == code.period_key, B.area_code == code.area_code,
        B.industry_code == code.industry_code, B.is_current.is_(True)).limit(1))


def plan(*, enterprise: Enterprise, year: int) -> dict[str, Any]:
    """The year's grade, the CO2 to cut for each better grade, the measures on offer."""
    code = _code(enterprise, year)
    sch = codes.schemes()[codes.DEFAULT_SCHEMES[0]]
    out: dict[str, Any] = {"year": year, "measures": planner.MEASURES, "targets": [],
                           "graded": bool(code and code.graded)}
    if code is None or not code.graded:
        out["reason"] = (code.reason if code else None) or f"{year} 年尚未评定碳效等级"
        return out
    bench = _bench(code)
    out.update(co2=code.co2, value_added=code.value_added, intensity=code.intensity,
               k_value=code.k_value, grade=code.grade, grade_label=code.grade_label,
               benchmark_intensity=code.benchmark_intensity, peers=code.peers)
    for t in sch.thresholds:
        if t.grade >= code.grade or t.upper is None:
            continue
        limit = planner.target_co2(
            co2=code.co2, va=code.value_added, bench_co2=bench.co2_total if bench else None,
            bench_va=bench.value_added_total if bench else None, basis=sch.basis,
            upper=t.upper)
        cut = None if limit is None else max(code.co2 - limit, Decimal(0))
        out["targets"].append({
            "grade": t.grade, "label": t.label, "upper": t.upper, "co2_max": limit,
            "cut": cut, "cut_pct": None if cut is None or not code.co2 else
            (cut / code.co2 * 100).quantize(Decimal("0.1")),
            "intensity_max": None if limit is None else engine.ratio(limit, code.value_added)})
    out["targets"].sort(key=lambda t: -t["grade"])  # the next grade first
    return out


def evaluate(*, enterprise: Enterprise, year: int, measures: list) -> dict[str, Any]:
    """Recompute the year with the measures applied (planner.PlanError on bad input)."""
    parsed = planner.parse_measures(measures)
    records = planner.records_for(enterprise_id=enterprise.id, year=year)
    if not records:
        raise planner.PlanError("year", f"{year} 年没有能耗数据")
    types = {t.code: t for t in db.session.scalars(select(EnergyType))}
    before = {k: Decimal(0) for k in (*SOURCES, "co2_total", "energy_tce")}
    after = dict(before)
    cache: dict = {}
    va = Decimal(0)
    for rec in records:
        resolved = energy.resolve(year=rec.year, month=rec.month,
                                  region_code=enterprise.region_code,
                                  cache=cache)
        lines = accounting.engine_lines(rec, resolved, types)
        ctx = {"factors": resolved.factors, "types": types}
        for acc, ls in ((before, lines), (after, planner.apply(lines, parsed, ctx))):
            res = engine.calculate(ls, value_added=rec.value_added)
            acc["co2_total"] += res.co2_total
            acc["energy_tce"] += res.energy_tce
            for s in SOURCES:
                acc[s] += getattr(res, s)
        va += rec.value_added or 0
    out = {"year": year, "months": len(records), "measures": [
        {**m, "label": planner.MEASURES[m["kind"]]["label"]} for m in parsed],
        "before": before, "after": after, "value_added": va,
        "reduction": before["co2_total"] - after["co2_total"],
        "intensity_before": engine.ratio(before["co2_total"], va),
        "intensity_after": engine.ratio(after["co2_total"], va)}
    code = _code(enterprise, year)
    bench = _bench(code)
    if code is not None and code.graded and bench is not None and code.value_added:
        # the graded figures move by the scenario's reduction (the account's own CO2 and
        # value added, whatever factor versions the recomputation met)
        sch = codes.schemes()[codes.DEFAULT_SCHEMES[0]]
        co2_new = code.co2 - out["reduction"]
        k = planner.k_after(co2_new=co2_new, co2_old=code.co2, va=code.value_added,
                            bench_co2=bench.co2_total, bench_va=bench.value_added_total)
        value = k if sch.basis == "K" else engine.ratio(co2_new, code.value_added)
        if value is not None:
            t = sch.grade(max(value, Decimal(0)))
            out.update(k_after=k, grade_before=code.grade, grade_after=t.grade,
                       label_before=code.grade_label, label_after=t.label, colour=t.colour)
    return out


def save_scenario(*, enterprise: Enterprise, year: int, name: str, measures: list,
                  user: Any = None) -> Scenario:
    name = (name or "").strip()
    if not name:
        raise planner.PlanError("name", "请为情景命名")
    result = evaluate(enterprise=enterprise, year=year, measures=measures)
    from app.accounting.schemas import plain

    row = Scenario(enterprise_id=enterprise.id, year=year, name=name[:100],
                   measures=plain(result["measures"]), result=plain(result),
                   created_by=getattr(user, "id", None))
    db.session.add(row)
    db.session.flush()
    audit("analytics.scenario.create", object_type="analytics_scenario", object_id=row.id,
          summary={"enterprise": enterprise.uscc, "year": year, "name": row.name,
                   "reduction": str(result["reduction"])})
    return row


def scenarios(*, enterprise: Enterprise, year: int | None = None) -> list[Scenario]:
    stmt = select(Scenario).where(Scenario.enterprise_id == enterprise.id).order_by(
        Scenario.created_at.desc())
    if year:
        stmt = stmt.where(Scenario.year == year)
    return list(db.session.scalars(stmt))


def export_scenarios(*, enterprise: Enterprise, fmt: str) -> tuple[bytes, str]:
    """The saved scenarios as CSV or Excel (the monitoring exporter's format)."""
    from app.monitoring import export
    from app.monitoring.datasets import Column, Dataset

    cols = [Column("name", "情景", kind="text"), Column("year", "年度", kind="text"),
            Column("measures", "措施", kind="text"), Column("before", "原排放", "tCO2"),
            Column("after", "情景排放", "tCO2"), Column("reduction", "减排量", "tCO2"),
            Column("intensity_after", "情景强度", "tCO2/万元"),
            Column("k_after", "情景碳效值 K"), Column("grade", "情景等级", kind="text")]
    rows = []
    for s in scenarios(enterprise=enterprise):
        r = s.result
        rows.append([s.name, str(s.year), "；".join(_measure_text(m) for m in s.measures),
                     Decimal(r["before"]["co2_total"]), Decimal(r["after"]["co2_total"]),
                     Decimal(r["reduction"]),
                     Decimal(r["intensity_after"]) if r.get("intensity_after") else None,
                     Decimal(r["k_after"]) if r.get("k_after") else None,
                     r.get("label_after") or "—"])
    ds = Dataset(id=f"scenarios-{enterprise.uscc}", title=f"{enterprise.name} 碳效提升情景",
                 columns=cols, rows=rows)
    body, mime, _name = export.render(ds, fmt, context={"企业": enterprise.name,
                                                        "统一社会信用代码": enterprise.uscc})
    return body, mime


def _measure_text(m: dict) -> str:
    spec = planner.MEASURES.get(m.get("kind"), {"label": m.get("kind"), "params": {}})
    params = "，".join(f"{label} {m.get(p)}" for p, label in spec["params"].items())
    return f"{spec['label']}（{params}）"
