"""Monitoring of reduction projects (R-6.3a): per project and month, generation, on-grid
electricity and own use from the exchange's month rollups (Beijing-local months, meters by
external id, converted to MWh), capacity factor, settled electricity and fee from the power
system, and anomalies. `figures` reads all projects of a list in one query per source
(set-based), so a region's view costs the same few queries as one project's.
"""

from __future__ import annotations

import calendar
import json
import os
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.energy.models import EnergyType
from app.exchange.meters import unit_factor
from app.exchange.models import Meter, MeterRollup
from app.extensions import db
from app.identity.datascope import DataScope
from app.identity.scope import get_scoped
from app.trading.methodologies import DATA_DIR
from app.trading.models import Project, Settlement

METERS = {"generation": "generation_meter", "ongrid": "ongrid_meter",
          "own_use": "own_use_meter"}
LABELS = {"generation": "发电量", "ongrid": "上网电量", "own_use": "厂用电量",
          "capacity_factor": "容量系数", "settled_mwh": "结算电量", "fee_yuan": "结算电费"}
MWH = Decimal("0.001")


class SettlementInvalid(ValueError):
    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@lru_cache(maxsize=1)
def ranges() -> dict:
    """Capacity factor bounds by type, with sources; null bounds are unconfirmed."""
    with open(os.path.join(DATA_DIR, "capacity_factor_ranges.json"), encoding="utf-8") as fh:
        return json.load(fh)


def gap_threshold() -> Decimal:
    default = ranges()["gap_threshold_pct"]["default"]
    return Decimal(str(current_app.config.get("CECP_SETTLEMENT_GAP_PCT", default)))


def months(start: date, end: date) -> list[date]:
    """First days of the months from start's month through end's month."""
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


class WindowError(ValueError):
    """A ?start=/?end= month window that cannot be read; `fields` names the parameter."""

    def __init__(self, message: str, fields: dict[str, str]):
        super().__init__(message)
        self.fields = fields


def window(*, start: str | None, end: str | None, today: date | None = None) -> list[date]:
    """The months of a YYYY-MM window; defaults: the 12 months through last month."""
    first = (today or date.today()).replace(day=1)
    try:
        last = (datetime.strptime(end, "%Y-%m").date() if end
                else date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1))
        begin = (datetime.strptime(start, "%Y-%m").date() if start
                 else date(last.year - 1 + (last.month == 12), last.month % 12 + 1, 1))
    except ValueError:
        raise WindowError("月份格式应为 YYYY-MM",
                          {"start": "YYYY-MM", "end": "YYYY-MM"}) from None
    if last < begin or len(months(begin, last)) > 60:
        raise WindowError("月份范围无效（结束不早于开始，最多 60 个月）", {"end": "范围无效"})
    return months(begin, last)


def hours_in(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1] * 24


def _fmt(v: Decimal | None, places: str = "0.001") -> str | None:
    return None if v is None else str(v.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def metered(projects: list[Project], month_list: list[date]) -> dict[tuple, Decimal]:
    """(project id, parameter, month) -> MWh, in one query over the month rollups."""
    by_ext: dict[str, list[tuple[int, str]]] = {}
    for p in projects:
        for param, attr in METERS.items():
            if getattr(p, attr):
                by_ext.setdefault(getattr(p, attr), []).append((p.id, param))
    if not by_ext or not month_list:
        return {}
    types = {t.code: t for t in db.session.scalars(select(EnergyType))}
    rows = db.session.execute(
        select(Meter.external_id, Meter.energy_type, Meter.unit, MeterRollup.bucket,
               MeterRollup.total)
        .join(MeterRollup, MeterRollup.meter_id == Meter.id)
        .where(Meter.external_id.in_(list(by_ext)), MeterRollup.resolution == "month",
               MeterRollup.bucket >= datetime.combine(month_list[0], datetime.min.time()),
               MeterRollup.bucket <= datetime.combine(month_list[-1], datetime.min.time()))
    ).all()
    out: dict[tuple, Decimal] = {}
    for ext, etype, unit, bucket, total in rows:
        factor = unit_factor(types[etype], unit) if etype in types else None
        if factor is None or types[etype].unit != "MWh":
            continue  # not electricity in MWh-convertible units: not a generation meter
        for pid, param in by_ext[ext]:
            out[(pid, param, bucket.date())] = Decimal(total) * factor
    return out


def settlements(projects: list[Project], month_list: list[date]) -> dict[tuple, Settlement]:
    if not projects or not month_list:
        return {}
    rows = db.session.scalars(select(Settlement).where(
        Settlement.project_id.in_([p.id for p in projects]),
        Settlement.month >= month_list[0], Settlement.month <= month_list[-1]))
    return {(s.project_id, s.month): s for s in rows}


def anomalies(project: Project, row: dict[str, Any]) -> list[dict]:
    """Flags of one month: capacity factor out of range, on-grid above generation, settlement
    vs metered on-grid gap above the threshold; each names its bound and the bound's source."""
    out = []
    cf = row.get("_cf")
    if cf is not None:
        spec = ranges()
        rng = spec["ranges"].get(project.type, {})
        lo = Decimal(rng["lower"]) if rng.get("lower") else Decimal(spec["definition"]["lower"])
        hi = Decimal(rng["upper"]) if rng.get("upper") else Decimal(spec["definition"]["upper"])
        source = rng.get("source") or spec["definition"]["source"]
        if not lo <= cf <= hi:
            out.append({"code": "capacity_factor", "message":
                        f"容量系数 {_fmt(cf, '0.0001')} 超出合理范围 [{lo}, {hi}]",
                        "source": source})
    gen, ongrid = row.get("_generation"), row.get("_ongrid")
    if gen is not None and ongrid is not None and ongrid > gen:
        out.append({"code": "ongrid_above_generation",
                    "message": f"上网电量 {_fmt(ongrid)} MWh 高于发电量 {_fmt(gen)} MWh"})
    settled = row.get("_settled")
    if settled is not None and ongrid is not None:
        limit = gap_threshold()
        base = ongrid if ongrid else settled
        gap = abs(settled - ongrid) * 100 / base if base else Decimal(0)
        if gap > limit:
            out.append({"code": "settlement_gap", "message":
                        f"结算电量 {_fmt(settled)} MWh 与计量上网电量 {_fmt(ongrid)} MWh "
                        f"相差 {_fmt(gap, '0.01')}%，超过 {limit}%",
                        "source": ranges()["gap_threshold_pct"]["source"]})
    return out


def figures(projects: list[Project], month_list: list[date]) -> dict[int, list[dict]]:
    """project id -> one row per month: MWh figures (Decimal strings, None where no data),
    capacity factor, settlement and anomalies. Decimal copies are kept under `_` keys."""
    data = metered(projects, month_list)
    settled = settlements(projects, month_list)
    out: dict[int, list[dict]] = {}
    for p in projects:
        rows = []
        for m in month_list:
            row: dict[str, Any] = {"month": m.strftime("%Y-%m")}
            for param in METERS:
                v = data.get((p.id, param, m))
                row["_" + param], row[param] = v, _fmt(v)
            gen = row["_generation"]
            cf = None
            if gen is not None and p.capacity_mw:
                cf = gen / (p.capacity_mw * hours_in(m))
            row["_cf"], row["capacity_factor"] = cf, _fmt(cf, "0.0001")
            s = settled.get((p.id, m))
            row["_settled"] = s.settled_mwh if s else None
            row["settled_mwh"] = _fmt(s.settled_mwh) if s else None
            row["fee_yuan"] = _fmt(s.fee_yuan, "0.01") if s and s.fee_yuan is not None else None
            row["settlement_source"] = s.source if s else None
            row["anomalies"] = anomalies(p, row)
            rows.append(row)
        out[p.id] = rows
    return out


def public(rows: list[dict]) -> list[dict]:
    """Rows without the Decimal working copies (for JSON and templates)."""
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


def totals(rows_by_project: dict[int, list[dict]], month_list: list[date]) -> list[dict]:
    """Monthly sums over projects (a region's view), with the count of flagged projects."""
    out = []
    for i, m in enumerate(month_list):
        acc = {k: Decimal(0) for k in ("generation", "ongrid", "own_use", "settled_mwh",
                                       "fee_yuan")}
        flagged = 0
        for rows in rows_by_project.values():
            r = rows[i]
            for k in ("generation", "ongrid", "own_use"):
                acc[k] += r["_" + k] or 0
            acc["settled_mwh"] += r["_settled"] or 0
            acc["fee_yuan"] += Decimal(r["fee_yuan"] or 0)
            flagged += bool(r["anomalies"])
        out.append({"month": m.strftime("%Y-%m"), **{k: _fmt(v) for k, v in acc.items()},
                    "flagged_projects": flagged})
    return out


def project_view(project: Project, month_list: list[date]) -> dict:
    """The owner's monthly table of one project (API answer and page)."""
    rows = public(figures([project], month_list)[project.id])
    return {"project": project.code, "name": project.name, "capacity_mw": str(
        project.capacity_mw) if project.capacity_mw is not None else None,
        "unit": "MWh", "months": rows}


def region_view(projects: list[Project], month_list: list[date]) -> dict:
    """The government's view: projects in scope, monthly totals and the flagged months."""
    data = figures(projects, month_list)
    flagged = [{"project": p.code, "name": p.name, "region_name": p.region.name,
                "month": r["month"], "anomalies": r["anomalies"]}
               for p in projects for r in data[p.id] if r["anomalies"]]
    return {"projects": [{"code": p.code, "name": p.name, "type": p.type,
                          "region_name": p.region.name, "enterprise_name": p.enterprise.name}
                         for p in projects],
            "totals": totals(data, month_list), "anomalies": flagged,
            "unit": "MWh"}


def _dec(raw: Any, name: str, errors: dict, *, required: bool = True) -> Decimal | None:
    if raw in (None, ""):
        if required:
            errors[name] = "必填"
        return None
    try:
        v = Decimal(str(raw))
        if not v.is_finite() or v < 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[name] = "必须是非负数"
        return None
    return v


def record_settlements(*, items: list[dict], scope: DataScope, source: str, user: Any = None,
                       batch_id: int | None = None) -> list[Settlement]:
    """Store settled MWh and fee per project and month (all or nothing). Items:
    {project: code, month: "YYYY-MM", settled_mwh, fee_yuan}. Projects outside the scope
    are refused like unknown ones."""
    errors: dict[str, str] = {}
    clean = []
    if not isinstance(items, list) or not items:
        raise SettlementInvalid({"items": "请至少提交一条结算记录"})
    for i, it in enumerate(items):
        e: dict[str, str] = {}
        it = it if isinstance(it, dict) else {}
        p = get_scoped(Project, str(it.get("project") or ""), by="code", scope=scope)
        if p is None:
            e["project"] = "项目不存在或不在您的数据范围内"
        try:
            month = datetime.strptime(str(it.get("month") or ""), "%Y-%m").date()
        except ValueError:
            e["month"] = "月份格式应为 YYYY-MM"
        mwh = _dec(it.get("settled_mwh"), "settled_mwh", e)
        fee = _dec(it.get("fee_yuan"), "fee_yuan", e, required=False)
        errors.update({f"items[{i}].{k}": v for k, v in e.items()})
        if not e:
            clean.append((p, month, mwh, fee))
    if errors:
        raise SettlementInvalid(errors)
    out = []
    for p, month, mwh, fee in clean:
        s = db.session.scalar(select(Settlement).where(Settlement.project_id == p.id,
                                                        Settlement.month == month))
        old = (str(s.settled_mwh), str(s.fee_yuan)) if s else None
        if s is None:
            s = Settlement(project_id=p.id, month=month)
            db.session.add(s)
        s.settled_mwh, s.fee_yuan, s.source, s.batch_id = mwh, fee, source, batch_id
        out.append(s)
        db.session.flush()
        audit.record("trading.settlement", object_type="trading_settlement", object_id=s.id,
                     user=user, summary={"project": p.code, "month": month.isoformat(),
                                         "settled_mwh": str(mwh), "fee_yuan": str(fee),
                                         "source": source, "replaced": old})
    return out


def seed_demo_monitoring(*, project: Project, year: int, user: Any = None) -> dict[str, Any]:
    """Demo hook: meters (created when the project has none), 12 months of daily readings
    through the exchange service, and the power system's settlements for `year`. Monthly
    generation follows a fixed seasonal profile at the project's capacity; on-grid is 98 % of
    generation, own use 2 %, settled = on-grid. Returns the batch ids and monthly on-grid MWh."""
    from app.exchange import meters as meter_service
    from app.exchange import service as exchange

    everyone = DataScope(all=True)
    for param, attr in METERS.items():
        if not getattr(project, attr):
            ext = f"{project.code}-{param.upper()}"
            if meter_service.get_by_external_id(external_id=ext, scope=everyone) is None:
                meter_service.create(data={"enterprise": project.enterprise_uscc,
                                           "external_id": ext, "name": LABELS[param],
                                           "energy_type": "electricity", "unit": "MWh"},
                                     scope=everyone)
            setattr(project, attr, ext)
    cap = project.capacity_mw or Decimal(10)
    profile = ("0.10", "0.12", "0.14", "0.16", "0.18", "0.19", "0.18", "0.18", "0.16",
               "0.14", "0.11", "0.10")  # illustrative demo profile, not measured data
    items, ongrid_by_month, batches = [], {}, []
    for m, share in enumerate(profile, start=1):
        days = calendar.monthrange(year, m)[1]
        daily = (cap * 24 * Decimal(share)).quantize(Decimal("0.001"))
        for d in range(1, days + 1):
            ts = f"{year}-{m:02d}-{d:02d}T12:00:00+08:00"
            items.append({"meter": project.generation_meter, "ts": ts, "value": str(daily)})
            items.append({"meter": project.ongrid_meter, "ts": ts,
                          "value": str((daily * Decimal("0.98")).quantize(MWH))})
            items.append({"meter": project.own_use_meter, "ts": ts,
                          "value": str((daily * Decimal("0.02")).quantize(MWH))})
        ongrid_by_month[f"{year}-{m:02d}"] = (daily * Decimal("0.98")).quantize(MWH) * days
    for i in range(0, len(items), 5000):
        batch, _ = exchange.submit_readings(items=items[i:i + 5000], scope=everyone, user=user,
                                            source="etl", client="etl:demo")
        batches.append(batch.id)
    record_settlements(items=[{"project": project.code, "month": k, "settled_mwh": v,
                               "fee_yuan": (v * Decimal("391.5")).quantize(Decimal("0.01"))}
                              for k, v in ongrid_by_month.items()],
                       scope=everyone, source="demo", user=user)
    return {"batches": batches, "ongrid": {k: str(v) for k, v in ongrid_by_month.items()}}
