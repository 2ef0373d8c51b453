"""Automatic cross-checks of an enterprise's report (企业自查), shown before it can submit.

Checks (thresholds are configuration): missing months; month-on-month jumps of emissions
over ``CECP_SELF_CHECK_JUMP_PCT`` %; declared electricity vs power-system data where a
provider has it (``ELECTRICITY_PROVIDERS``) beyond ``CECP_SELF_CHECK_ELECTRICITY_PCT`` %;
intensity more than ``CECP_SELF_CHECK_INTENSITY_FACTOR`` times above or below the industry
benchmark; and the checks other domains register in ``CHECKS`` (analytics: anomaly flags
of the report's months). A failing power-system provider becomes a note, never a failed
check.

Each result carries its basis (the current accounts and benchmark it read, the thresholds)
and a seal (HMAC-SM3 with a key derived from the master key). At submission the result
shown to the enterprise is reused when one query finds its basis unchanged and the seal
holds; otherwise the checks run again. Task data cannot forge a result.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, func, select

from app.accounting import codes
from app.crypto.hashing import hmac_sm3
from app.crypto.keys import purpose_key
from app.extensions import db
from app.i18n import Msg, Seq, known
from app.orgs.models import Enterprise

#: fn(enterprise, yyyymm) -> MWh from the power system (None = no data for that month)
ELECTRICITY_PROVIDERS: list[Callable[[Enterprise, int], Decimal | None]] = []


@dataclass(frozen=True)
class Check:
    """A check another domain adds (e.g. analytics' anomaly flags): `warnings(enterprise,
    report months)` gives warning dicts; `basis(enterprise id, months read)` a cheap value
    that changes whenever the warnings could, so a sealed result stays reusable."""

    name: str
    warnings: Callable[[Enterprise, list[int]], list[dict]]
    basis: Callable[[int, list[int]], Any]
    #: optional notes (why something was not checked), same arguments as `warnings`
    notes: Callable[[Enterprise, list[int]], list[str]] | None = None
    #: a built-in check this one supplies the data for ("electricity": the power system's
    #: electricity), so the built-in's "no source" note is not shown
    covers: str | None = None


CHECKS: list[Check] = []


def _cfg(name: str, default: float) -> Decimal:
    return Decimal(str(current_app.config.get(name, default)))


def _months(year: int, month: int | None) -> list[int]:
    if month:
        return [year * 100 + month]
    today = date.today()
    last = 12 if year < today.year else max(today.month - 1, 0)
    return [year * 100 + m for m in range(1, last + 1)]


def _accounts(enterprise: Enterprise, periods: list[int]) -> dict[int, Any]:
    from app.accounting.service import current_figures

    rows = current_figures(enterprise_id=enterprise.id, periods=periods)
    return {r.period: r for r in rows}


def _label(period: int) -> str:
    return Msg(PERIOD, year=period // 100, month=period % 100)


#: findings are stored with the case in Chinese as written; a page in English shows them
#: translated by matching these msgids (app.i18n.known), so write findings only through them
PERIOD = "%(year)s年%(month)s月"
NO_DATA = "报告期内没有任何核算数据，请先填报能耗数据"
MISSING = "缺少以下月份的数据: %(months)s"
JUMP = "%(period)s排放量较上月变化 %(change)s%%（超过 ±%(limit)s%%）"
NO_GRID_SOURCE = "无电力系统数据来源，未核对用电量"
GRID_DOWN = "电力系统数据暂不可用（%(error)s），未核对用电量"
GRID_DIFF = ("%(period)s申报用电 %(declared)s MWh 与电力系统数据 %(grid)s MWh 相差 %(diff)s%%"
             "（超过 ±%(limit)s%%）")
NO_GRID_DATA = "报告期内没有电力系统数据，未核对用电量"
NO_VALUE_ADDED = "缺少工业增加值或行业代码，未比较碳排放强度"
NO_BENCHMARK = "暂无行业基准，未比较碳排放强度"
FAR = "碳排放强度 %(mine)s tCO2/万元 远离行业基准 %(ref)s（超出 %(factor)s 倍范围）"
known(PERIOD, NO_DATA, MISSING, JUMP, NO_GRID_SOURCE, GRID_DOWN, GRID_DIFF, NO_GRID_DATA,
      NO_VALUE_ADDED, NO_BENCHMARK, FAR)


def _missing(accounts: dict[int, Any], periods: list[int], out: dict) -> None:
    missing = [p for p in periods if p not in accounts]
    if periods and len(missing) == len(periods):
        out["errors"].append({"code": "no_data",
                              "message": NO_DATA})
    elif missing:
        out["warnings"].append({"code": "missing_months", "message": Msg(
            MISSING, months=Seq((_label(p) for p in missing), sep="、"))})


def _read_periods(periods: list[int]) -> list[int]:
    """The periods read: a monthly report also reads the month before (for the jump)."""
    if len(periods) != 1:
        return periods
    p = periods[0]
    return [p - 1 if p % 100 > 1 else (p // 100 - 1) * 100 + 12, p]


def _jumps(accounts: dict[int, Any], periods: list[int], out: dict) -> None:
    """`accounts` holds every period read (`_read_periods`)."""
    limit = _cfg("CECP_SELF_CHECK_JUMP_PCT", 50)
    periods = _read_periods(periods)
    for a, b in zip(periods, periods[1:], strict=False):
        if a not in accounts or b not in accounts:
            continue
        before, after = Decimal(accounts[a].co2_total), Decimal(accounts[b].co2_total)
        if before <= 0:
            continue
        change = (after - before) / before * 100
        if abs(change) > limit:
            out["warnings"].append({"code": "jump", "message": Msg(
                JUMP, period=_label(b), change=f"{change:+.1f}", limit=limit)})


def _electricity(accounts: dict[int, Any], enterprise: Enterprise, out: dict) -> None:
    if not ELECTRICITY_PROVIDERS:
        if not any(c.covers == "electricity" for c in CHECKS):
            out["notes"].append(NO_GRID_SOURCE)
        return
    limit = _cfg("CECP_SELF_CHECK_ELECTRICITY_PCT", 10)
    compared = 0
    for period, acc in sorted(accounts.items()):
        try:
            grid = next((v for fn in ELECTRICITY_PROVIDERS
                         if (v := fn(enterprise, period)) is not None), None)
        except Exception as exc:  # noqa: BLE001 - an outside system: its failure is a note
            out["notes"].append(Msg(GRID_DOWN, error=type(exc).__name__))
            return
        if grid is None or grid <= 0:
            continue
        compared += 1
        declared = Decimal(acc.electricity_mwh)
        diff = (declared - grid) / grid * 100
        if abs(diff) > limit:
            out["warnings"].append({"code": "electricity", "message": Msg(
                GRID_DIFF, period=_label(period), declared=f"{declared:.1f}",
                grid=f"{grid:.1f}", diff=f"{diff:+.1f}", limit=limit)})
    if not compared:
        out["notes"].append(NO_GRID_DATA)


def _intensity(accounts: dict[int, Any], enterprise: Enterprise, key: str,
               out: dict) -> dict[str, Any]:
    """Returns what was looked up: {"needed": False} (no value added or industry) or
    {"needed": True, "id": the benchmark's id or None when there is none}."""
    co2 = sum((Decimal(a.co2_total) for a in accounts.values()), Decimal(0))
    va = sum((Decimal(a.value_added or 0) for a in accounts.values()), Decimal(0))
    if va <= 0 or not enterprise.industry_code:
        out["notes"].append(NO_VALUE_ADDED)
        return {"needed": False}
    # the benchmark the carbon efficiency code grades against (same area, industry level)
    bench = codes.benchmark_for(enterprise=enterprise, period_key=key)
    if bench is None or not bench.intensity:
        out["notes"].append(NO_BENCHMARK)
        return {"needed": True, "id": None}
    mine, ref = co2 / va, Decimal(bench.intensity)
    factor = _cfg("CECP_SELF_CHECK_INTENSITY_FACTOR", 3)
    if ref > 0 and (mine > ref * factor or mine < ref / factor):
        out["warnings"].append({"code": "intensity", "message": Msg(
            FAR, mine=f"{mine:.3f}", ref=f"{ref:.3f}", factor=factor)})
    return {"needed": True, "id": bench.id}


def run(*, enterprise: Enterprise, year: int, month: int | None = None) -> dict[str, Any]:
    """The self-check result: passed (no errors), warnings, errors, notes, totals, and the
    sealed basis that lets a later submission reuse it (`still_valid`)."""
    out: dict[str, Any] = {"warnings": [], "errors": [], "notes": []}
    periods = _months(year, month)
    key = f"{year}-{month:02d}" if month else str(year)
    read = _accounts(enterprise, _read_periods(periods))
    accounts = {p: read[p] for p in periods if p in read}
    _missing(accounts, periods, out)
    _jumps(read, periods, out)
    _electricity(accounts, enterprise, out)
    benchmark = _intensity(accounts, enterprise, key, out)
    for check in CHECKS:
        out["warnings"] += check.warnings(enterprise, periods)
        if check.notes is not None:
            out["notes"] += check.notes(enterprise, periods)
    out["passed"] = not out["errors"]
    out["months"] = len(accounts)
    out["co2_total"] = str(sum((Decimal(a.co2_total) for a in accounts.values()), Decimal(0)))
    out["checked_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    ids = [r.id for r in read.values()]
    out["basis"] = {"enterprise": enterprise.id, "industry": enterprise.industry_code,
                    "key": key, "periods": _read_periods(periods),
                    "accounts": [len(ids), sum(ids), max(ids, default=0)],
                    "benchmark": benchmark, "limits": _limits(),
                    "checks": {c.name: c.basis(enterprise.id, _read_periods(periods))
                               for c in CHECKS}}
    out["seal"] = _seal(out)
    return out


def _limits() -> list[str]:
    return [str(_cfg("CECP_SELF_CHECK_JUMP_PCT", 50)),
            str(_cfg("CECP_SELF_CHECK_ELECTRICITY_PCT", 10)),
            str(_cfg("CECP_SELF_CHECK_INTENSITY_FACTOR", 3))]


def _seal(result: dict[str, Any]) -> str:
    body = {k: v for k, v in result.items() if k != "seal"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hmac_sm3(purpose_key("self-check"), canonical.encode()).hex()


@cache
def _basis_stmt() -> Select:
    """What a basis depends on, now: the enterprise's industry, its current accounts of the
    periods read (count, sum and max of their ids: a new version is a new row); the
    benchmark is looked up as the intensity check does (`codes.benchmark_for`)."""
    from app.accounting.models import CarbonAccount as A

    industry = select(Enterprise.industry_code).where(
        Enterprise.id == bindparam("b_ent")).scalar_subquery()
    return select(func.count(A.id), func.coalesce(func.sum(A.id), 0),
                  func.coalesce(func.max(A.id), 0), industry).where(
        A.enterprise_id == bindparam("b_ent"), A.is_current.is_(True),
        A.period.in_(bindparam("b_periods", expanding=True)))


def still_valid(result: Any) -> bool:
    """Is an earlier result (from the task data) still what the checks would give now?"""
    if ELECTRICITY_PROVIDERS or not isinstance(result, dict):
        return False  # power-system data can change without a trace here
    basis, seal = result.get("basis"), result.get("seal")
    if not isinstance(basis, dict) or not isinstance(seal, str):
        return False
    if not hmac.compare_digest(seal, _seal(result)) or basis.get("limits") != _limits():
        return False
    row = db.session.execute(_basis_stmt(), {"b_ent": basis["enterprise"],
                                             "b_periods": basis["periods"]}).one()
    count, total, last, industry = row
    if [count, int(total), int(last)] != basis["accounts"] or industry != basis["industry"]:
        return False
    looked_up = basis["benchmark"]
    if looked_up.get("needed"):
        bench = codes.benchmark_for(enterprise=db.session.get(Enterprise, basis["enterprise"]),
                                    period_key=basis["key"])
        if (bench.id if bench is not None and bench.intensity else None) != looked_up.get("id"):
            return False
    done = basis.get("checks") or {}
    return set(done) == {c.name for c in CHECKS} and all(
        c.basis(basis["enterprise"], basis["periods"]) == done[c.name] for c in CHECKS)
