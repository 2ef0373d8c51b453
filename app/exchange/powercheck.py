"""Self-check (企业自查): the enterprise's declared electricity against the power system's
(issue 14, R-9.1.1). Registered in `app.cases.selfcheck.CHECKS` by `app.exchange.register`.

"Power-system electricity" is what the platform itself synced from a power-system
intermediate database: readings whose stored value came from an `etl` batch of a mapping
named in `CECP_POWER_SYSTEM_SYNCS` (default `power_marketing`), on the enterprise's
electricity meters, after the multiplier, in MWh, summed over the Beijing-time month. A
value posted by the enterprise itself (REST, file) never counts as the power system's.

A month is compared only when the synced readings cover it (first reading within a day of
its start, last within a day of its end); otherwise a note says why not. The threshold is
`CECP_SELF_CHECK_ELECTRICITY_PCT` (default 10 %): a platform setting, not a figure of
T/CEPPC 14-2023, and every warning says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.energy.models import EnergyType
from app.exchange.meters import unit_factor
from app.exchange.models import ExchangeBatch, Meter, MeterReading
from app.extensions import db
from app.i18n import Msg, known
from app.orgs.models import Enterprise

BEIJING = timedelta(hours=8)
NAME = "power_electricity"
COVER_SLACK = timedelta(days=1)


def _limit() -> Decimal:
    return Decimal(str(current_app.config.get("CECP_SELF_CHECK_ELECTRICITY_PCT", 10)))


def _clients() -> list[str]:
    names = current_app.config.get("CECP_POWER_SYSTEM_SYNCS") or ("power_marketing",)
    return [f"etl:{n}" for n in names]


def _label(period: int) -> str:
    return Msg("%(year)s年%(month)s月", year=period // 100, month=period % 100)


#: the findings are stored with the self-check in Chinese; pages in English recognise them
NO_GRID = "报告期内没有电力系统同步的用电数据，未核对用电量"
PARTIAL = "%(period)s电力系统数据不完整（%(first)s 至 %(last)s，北京时间），未核对用电量"
DIFF = ("%(period)s申报用电 %(mine)s MWh 与电力系统同步数据 %(grid)s MWh 相差 %(diff)s%%"
        "（超过 ±%(limit)s%%；阈值为平台配置，非标准规定）")
known(NO_GRID, PARTIAL, DIFF)


def _bounds(period: int) -> tuple[datetime, datetime]:
    """The Beijing month as naive UTC [start, end)."""
    y, m = divmod(period, 100)
    start = datetime(y, m, 1)
    end = datetime(y + (m == 12), m % 12 + 1, 1)
    return start - BEIJING, end - BEIJING


def grid_figures(enterprise_id: int, periods: list[int]) -> list[list]:
    """[[period, MWh as text, first ts, last ts], ...] for periods with synced readings."""
    types = {
        t.code: t
        for t in db.session.scalars(select(EnergyType).where(EnergyType.category == "electricity"))
    }
    if not types:
        return []
    out = []
    for period in sorted(periods):
        start, end = _bounds(period)
        rows = db.session.execute(
            select(
                Meter.energy_type,
                Meter.unit,
                func.sum(MeterReading.value * Meter.multiplier),
                func.min(MeterReading.ts),
                func.max(MeterReading.ts),
            )
            .join(Meter, Meter.id == MeterReading.meter_id)
            .join(ExchangeBatch, ExchangeBatch.id == MeterReading.batch_id)
            .where(
                Meter.enterprise_id == enterprise_id,
                Meter.energy_type.in_(list(types)),
                ExchangeBatch.source == "etl",
                ExchangeBatch.client.in_(_clients()),
                MeterReading.ts >= start,
                MeterReading.ts < end,
            )
            .group_by(Meter.energy_type, Meter.unit)
        ).all()
        total, first, last, known = Decimal(0), None, None, False
        for code, unit, amount, lo, hi in rows:
            factor = unit_factor(types[code], unit)
            if factor is None or amount is None:
                continue
            known = True
            total += Decimal(amount) * factor
            first = lo if first is None else min(first, lo)
            last = hi if last is None else max(last, hi)
        if known:
            out.append(
                [period, str(total.quantize(Decimal("0.001"))), first.isoformat(), last.isoformat()]
            )
    return out


def _assess(enterprise: Enterprise, periods: list[int]) -> tuple[list[dict], list[str]]:
    from app.accounting.service import current_figures

    grid = {
        p: (Decimal(v), datetime.fromisoformat(a), datetime.fromisoformat(b))
        for p, v, a, b in grid_figures(enterprise.id, periods)
    }
    if not grid:
        return [], [NO_GRID]
    declared = {
        r.period: r for r in current_figures(enterprise_id=enterprise.id, periods=sorted(grid))
    }
    limit = _limit()
    warnings: list[dict] = []
    notes: list[str] = []
    for period, (mwh, first, last) in sorted(grid.items()):
        start, end = _bounds(period)
        if first > start + COVER_SLACK or last < end - COVER_SLACK:
            notes.append(
                Msg(PARTIAL, period=_label(period), first=f"{first + BEIJING:%m-%d %H:%M}",
                    last=f"{last + BEIJING:%m-%d %H:%M}")
            )
            continue
        acc = declared.get(period)
        if acc is None or mwh <= 0:
            continue
        mine = Decimal(acc.electricity_mwh or 0)
        diff = (mine - mwh) / mwh * 100
        if abs(diff) > limit:
            warnings.append(
                {
                    "code": NAME,
                    "message": Msg(
                        DIFF, period=_label(period), mine=f"{mine:,.1f}", grid=f"{mwh:,.1f}",
                        diff=f"{diff:+.1f}", limit=limit
                    ),
                }
            )
    return warnings, notes


def warnings(enterprise: Enterprise, periods: list[int]) -> list[dict]:
    return _assess(enterprise, periods)[0]


def notes(enterprise: Enterprise, periods: list[int]) -> list[str]:
    return _assess(enterprise, periods)[1]


def basis(enterprise_id: int, periods: list[int]) -> Any:
    """What the warnings depend on beyond the accounts: the synced figures themselves."""
    return grid_figures(enterprise_id, periods)


def register() -> None:
    from app.cases import selfcheck

    if not any(c.name == NAME for c in selfcheck.CHECKS):
        selfcheck.CHECKS.append(
            selfcheck.Check(NAME, warnings, basis, notes=notes, covers="electricity")
        )
