"""Monthly series out of the current carbon accounts, as numpy matrices.

One query per call, whatever the number of enterprises: the matrix rows are enterprises,
the columns the consecutive months of the window (NaN where a month has no account)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from app.accounting.models import CarbonAccount
from app.extensions import db
from app.identity.scope import DataScope, region_prefix, scoped
from app.orgs.models import Enterprise

MEASURES = {"co2": ("co2_total", "CO2 排放", "t"), "energy": ("energy_tce", "综合能耗", "tce"),
            "va": ("value_added", "工业增加值", "万元")}
LEVELS = ("enterprise", "industry", "region")


def month_range(last: int, count: int) -> list[int]:
    """`count` consecutive months (yyyymm) ending with `last`."""
    y, m = divmod(last, 100)
    idx = y * 12 + (m - 1)
    return [(i // 12) * 100 + i % 12 + 1 for i in range(idx - count + 1, idx + 1)]


def next_months(last: int, count: int) -> list[int]:
    y, m = divmod(last, 100)
    idx = y * 12 + m  # the month after `last`
    return [(i // 12) * 100 + i % 12 + 1 for i in range(idx, idx + count)]


def latest_period(scope: DataScope | None = None) -> int | None:
    stmt = select(func.max(CarbonAccount.period)).where(CarbonAccount.is_current.is_(True))
    if scope is not None:
        stmt = scoped(stmt, CarbonAccount, scope)
    return db.session.scalar(stmt)


@dataclass
class Matrix:
    ids: list[int]
    industries: list[str | None]
    regions: list[str]
    periods: list[int]
    co2: np.ndarray
    energy: np.ndarray
    fuel: np.ndarray        # combustion CO2
    mwh: np.ndarray         # net purchased electricity
    va: np.ndarray

    @property
    def intensity(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.va > 0, self.co2 / self.va, np.nan)

    def row(self, enterprise_id: int) -> int:
        return self.ids.index(enterprise_id)


def enterprise_matrix(*, last: int, months: int = 36, enterprise_ids: list[int] | None = None,
                      industry_prefixes: list[str] | None = None) -> Matrix:
    """The current accounts of the window ending at `last`, for the given enterprises (or
    those of the given industries, or all)."""
    periods = month_range(last, months)
    col = {p: i for i, p in enumerate(periods)}
    A = CarbonAccount
    stmt = (select(A.enterprise_id, A.period, A.co2_total, A.energy_tce, A.co2_combustion,
                   A.electricity_mwh, A.value_added, A.industry_code, A.region_code)
            .where(A.is_current.is_(True), A.period.between(periods[0], periods[-1]))
            .order_by(A.enterprise_id))
    if enterprise_ids is not None:
        stmt = stmt.where(A.enterprise_id.in_(enterprise_ids))
    if industry_prefixes:
        stmt = stmt.where(func.substr(A.industry_code, 1, 2).in_(
            sorted({p[:2] for p in industry_prefixes})))
    rows = db.session.execute(stmt).all()
    ids: list[int] = []
    meta: dict[int, tuple] = {}
    for r in rows:
        if r[0] not in meta:
            meta[r[0]] = (r[7], r[8])
            ids.append(r[0])
    index = {e: i for i, e in enumerate(ids)}
    shape = (len(ids), len(periods))
    mats = [np.full(shape, np.nan) for _ in range(5)]
    if rows:
        ri = np.fromiter((index[r[0]] for r in rows), dtype=np.int64, count=len(rows))
        ci = np.fromiter((col[r[1]] for r in rows), dtype=np.int64, count=len(rows))
        for k, m in enumerate(mats):
            m[ri, ci] = np.fromiter((np.nan if r[2 + k] is None else float(r[2 + k])
                                     for r in rows), dtype=float, count=len(rows))
    return Matrix(ids, [meta[e][0] for e in ids], [meta[e][1] for e in ids], periods, *mats)


def aggregate(*, level: str, code: str, measure: str, last: int, months: int,
              scope: DataScope) -> list[float | None]:
    """Monthly totals of an industry (GB/T 4754 prefix) or region (GB/T 2260) within the
    caller's scope; None for a month without any account."""
    column = getattr(CarbonAccount, MEASURES[measure][0])
    periods = month_range(last, months)
    stmt = scoped(select(CarbonAccount.period, func.sum(column)), CarbonAccount, scope).where(
        CarbonAccount.is_current.is_(True),
        CarbonAccount.period.between(periods[0], periods[-1])).group_by(CarbonAccount.period)
    if level == "industry":
        stmt = stmt.where(CarbonAccount.industry_code.startswith(code, autoescape=True))
    elif level == "region":
        stmt = stmt.where(
            CarbonAccount.region_code.startswith(region_prefix(code), autoescape=True))
    got = {p: v for p, v in db.session.execute(stmt)}
    return [None if got.get(p) is None else float(got[p]) for p in periods]


def enterprise_series(*, enterprise_id: int, measure: str, last: int,
                      months: int) -> list[float | None]:
    m = enterprise_matrix(last=last, months=months, enterprise_ids=[enterprise_id])
    if not m.ids:
        return [None] * months
    data = {"co2": m.co2, "energy": m.energy, "va": m.va}[measure][0]
    return [None if np.isnan(v) else float(v) for v in data]


def year_totals(*, year: int, scope: DataScope | None,
                industry: str | None = None) -> list[tuple]:
    """(enterprise id, USCC, name, region, industry, Σ CO2, Σ value added, months) of a
    year, within the scope."""
    A, E = CarbonAccount, Enterprise
    stmt = select(E.id, E.uscc, E.name, E.region_code, E.industry_code, func.sum(A.co2_total),
                  func.sum(A.value_added), func.count()).join(E, E.id == A.enterprise_id).where(
        A.is_current.is_(True), A.period.between(year * 100 + 1, year * 100 + 12)).group_by(
        E.id, E.uscc, E.name, E.region_code, E.industry_code)
    if scope is not None:
        stmt = scoped(stmt, A, scope)
    if industry:
        stmt = stmt.where(E.industry_code.startswith(industry, autoescape=True))
    return list(db.session.execute(stmt))
