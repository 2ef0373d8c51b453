"""The filters every monitoring view shares, parsed once from the URL (so a view can be
shared by its link) and checked against the caller's data scope."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, func, select, true

from app.extensions import db
from app.identity.scope import DataScope, region_prefix, scope_clause
from app.monitoring.models import TOTAL, MonitoringCube, MonitoringFact
from app.web.request_memo import memo

GRAINS = {"month": "按月", "year": "按年"}
ANY_ITEM = "__any__"  # `where(item=ANY_ITEM)`: every item row (the breakdown by energy)
MEASURES = {"co2": "CO2 排放", "tce": "综合能耗", "amount": "实物消费量"}


class FilterError(ValueError):
    """A filter value that cannot be used; `field` names it (shown beside the control)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Filters:
    region: str = ""        # GB/T 2260 code; "" = everything the scope allows
    year: int | None = None
    month: int | None = None  # the month the breakdowns show (grain=month)
    grain: str = "month"
    energy: str = ""        # energy type code, "process", or "" for all
    measure: str = "co2"
    sector: str = ""
    industry: str = ""      # GB/T 4754 division (2 digits)
    q: str = ""
    sort: str = "co2"
    order: str = "desc"
    page: int = 1

    @property
    def item(self) -> str:
        return self.energy or TOTAL

    @property
    def period(self) -> int | None:
        if self.year and self.month:
            return self.year * 100 + self.month
        return None

    @property
    def prefix(self) -> str:
        return region_prefix(self.region) if self.region else ""

    def args(self, **changes: Any) -> dict:
        """URL arguments (only the non-default ones) for links and exports."""
        d = asdict(replace(self, **changes))
        default = asdict(Filters())
        return {k: v for k, v in d.items() if v not in (None, "") and v != default.get(k)}


def _int(raw: Any, field: str, lo: int, hi: int) -> int | None:
    if raw in (None, ""):
        return None
    try:
        v = int(raw)
    except (TypeError, ValueError):
        raise FilterError(field, "应为整数") from None
    if not lo <= v <= hi:
        raise FilterError(field, f"应在 {lo}–{hi} 之间")
    return v


def parse(args: Any, scope: DataScope) -> Filters:
    """From request args (a MultiDict or dict); raises FilterError on bad values."""
    get = args.get
    region = (get("region") or "").strip()
    if region and not (len(region) == 6 and region.isdigit()):
        raise FilterError("region", "行政区划代码应为 6 位数字")
    if region and not scope.all and not scope.covers_region(region):
        raise FilterError("region", "该地区不在您的数据范围内")
    if not region and scope.region and not scope.all and len(scope.region) == 1:
        region = scope.region[0]
    grain = get("grain") or "month"
    if grain not in GRAINS:
        raise FilterError("grain", "应为 month 或 year")
    measure = get("measure") or "co2"
    if measure not in MEASURES:
        raise FilterError("measure", "应为 co2、tce 或 amount")
    energy = (get("energy") or "").strip()
    if measure == "amount" and not energy:
        measure = "tce"  # physical units only add up within one energy type
    order = get("order") or "desc"
    industry = (get("industry") or "").strip()
    if industry and not (industry.isdigit() and len(industry) in (2, 3, 4)):
        raise FilterError("industry", "行业代码应为 GB/T 4754 的 2–4 位数字")
    return Filters(region=region, year=_int(get("year"), "year", 1990, 2100),
                   month=_int(get("month"), "month", 1, 12), grain=grain, energy=energy,
                   measure=measure, sector=(get("sector") or "").strip(),
                   industry=industry[:2], q=(get("q") or "").strip()[:100],
                   sort=(get("sort") or "co2"), order="asc" if order == "asc" else "desc",
                   page=_int(get("page"), "page", 1, 100000) or 1)


def source(scope: DataScope):
    """The roll-up cube for region-wide scopes, the per-enterprise facts otherwise (an
    enterprise user must not see its county's totals)."""
    if scope.all or (scope.region and not scope.enterprise):
        return MonitoringCube
    return MonitoringFact


def where(model, scope: DataScope, f: Filters, *, item: str | None = None,
          with_sector: bool = True) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [scope_clause(model, scope) if not scope.all
                                          else true()]
    it = item or f.item
    if it != ANY_ITEM:
        clauses.append(model.item == it)
    if f.prefix:
        clauses.append(model.region_code.startswith(f.prefix, autoescape=True))
    if with_sector and f.sector:
        clauses.append(model.sector == f.sector)
    if f.industry:
        clauses.append(model.division == f.industry)
    return clauses


#: a month counts as complete when it is over (Beijing calendar) and at least this share of
#: the enterprises that reported in the busiest of the twelve months before it reported too
COMPLETE_SHARE = 0.9


def _this_month() -> int:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    return now.year * 100 + now.month


def reporting(scope: DataScope, f: Filters) -> dict[int, int]:
    """{period: reporting enterprises} of the caller's view (every month with data); read
    once per request (the default period and the completeness check both need it)."""
    model = source(scope)
    count = func.sum(model.enterprises) if model is MonitoringCube else func.count()
    stmt = (select(model.period, count).where(*where(model, scope, f, item=TOTAL))
            .group_by(model.period))
    key = ("monitoring.reporting", repr(scope), f.prefix, f.sector, f.industry)
    return dict(memo(key, lambda: {int(p): int(n or 0) for p, n in db.session.execute(stmt)}))


def complete_months(counts: dict[int, int]) -> set[int]:
    """The months of `counts` that are complete (see COMPLETE_SHARE)."""
    current = _this_month()
    periods = sorted(counts)
    out = set()
    for i, p in enumerate(periods):
        if p >= current:
            continue
        before = [counts[q] for q in periods[max(0, i - 12):i]]
        if not before or counts[p] >= COMPLETE_SHARE * max(before):
            out.add(p)
    return out


def is_complete(scope: DataScope, f: Filters) -> bool:
    """Whether the window of `f` (a month, or a whole year) is complete."""
    counts = reporting(scope, f)
    done = complete_months(counts)
    if f.grain == "year" or not f.month:
        return all(f.year * 100 + m in done for m in range(1, 13))
    return f.period in done


def with_defaults(f: Filters, scope: DataScope) -> Filters:
    """Fill year / month with the latest COMPLETE period that has data in the caller's view
    (the latest month with data when no month is complete)."""
    if f.year and (f.month or f.grain == "year"):
        return f
    counts = reporting(scope, f)
    if f.year:
        counts = {p: n for p, n in counts.items() if p // 100 == f.year}
    if not counts:
        from datetime import date

        today = date.today()
        return replace(f, year=f.year or today.year, month=f.month or today.month)
    done = complete_months(counts)
    if f.grain == "year" and not f.year:
        years = sorted({p // 100 for p in counts}, reverse=True)
        full = [y for y in years if all(y * 100 + m in done for m in range(1, 13))]
        return replace(f, year=full[0] if full else years[0])
    latest = max(done) if done else max(counts)
    year, month = divmod(latest, 100)
    return replace(f, year=f.year or year, month=f.month or month)


def energy_choices() -> list[tuple[str, str, str]]:
    """(code, name, unit) of energy types, then industrial process; read once per request
    (an application context): a page labels several items."""
    from flask import g

    from app.energy.models import EnergyType

    cached = g.get("cecp_energy_choices")
    if cached is None:
        from app.i18n import Named

        rows = [(t.code, Named(t.name, t.name_en), t.unit) for t in db.session.scalars(
            select(EnergyType).where(EnergyType.active.is_(True))
            .order_by(EnergyType.sort_order))]
        cached = g.cecp_energy_choices = rows + [("process", "工业生产过程", "")]
    return list(cached)


def energy_label(code: str) -> tuple[str, str | None]:
    for c, name, unit in energy_choices():
        if c == code:
            return name, unit or None
    return code, None


def sector_names() -> dict[str, str]:
    from app.i18n import Named
    from app.refdata import load_sectors

    return {s.id: Named(s.name, getattr(s, "name_en", None)) for s in load_sectors()}
