"""Fit CO2_m = a + b · E_m for many enterprises at once (grouped numpy, no per-enterprise
loop): ordinary least squares beside the robust Theil–Sen estimator (median of pairwise
slopes, Sen 1968 confidence interval, the same as `scipy.stats.theilslopes` without ties),
quality flags and a Chow test at the middle of the series for a structural break.

Input: group index (0..G-1, rows of a group contiguous, in period order), E (MWh), CO2 (t).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_MONTHS = 12
POOR_FIT_R2 = 0.5
BREAK_P = 0.01
#: pairs per chunk of the Theil–Sen step (bounds memory: 16 bytes × 3 per pair)
PAIR_CHUNK = 4_000_000


@dataclass
class Fits:
    n: np.ndarray
    slope: np.ndarray           # robust (Theil–Sen) b, NaN when not fitted
    intercept: np.ndarray
    r2: np.ndarray
    resid_sd: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    ols_slope: np.ndarray
    ols_intercept: np.ndarray
    ols_r2: np.ndarray
    break_p: np.ndarray
    flags: list[list[str]]


def _grouped_ols(g: np.ndarray, x: np.ndarray, y: np.ndarray, ng: int):
    n = np.bincount(g, minlength=ng).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(g, x, ng) / n
        my = np.bincount(g, y, ng) / n
        dx, dy = x - mx[g], y - my[g]
        sxx = np.bincount(g, dx * dx, ng)
        sxy = np.bincount(g, dx * dy, ng)
        syy = np.bincount(g, dy * dy, ng)
        b = sxy / sxx
        a = my - b * mx
        ssr = np.maximum(syy - b * sxy, 0.0)
        r2 = 1.0 - ssr / syy
    return n, b, a, ssr, sxx, syy, r2


def _group_starts(g: np.ndarray, ng: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(g, minlength=ng)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return counts, starts


def _sort_within(g: np.ndarray, v: np.ndarray, ng: int) -> np.ndarray:
    """Order of `v` sorted within groups `g` (contiguous, non-decreasing): one argsort of
    g + v scaled into [0, 1) per group (several times faster than lexsort((v, g)))."""
    counts, starts = _group_starts(g, ng)
    lo = np.zeros(ng)
    hi = np.zeros(ng)
    full = counts > 0
    if full.any():
        lo[full] = np.minimum.reduceat(v, starts[full])
        hi[full] = np.maximum.reduceat(v, starts[full])
    span = hi - lo
    span = np.where(span > 0, span, 1.0)
    return np.argsort(g + 0.999 * (v - lo[g]) / span[g], kind="stable")


def _grouped_median(g: np.ndarray, v: np.ndarray, ng: int) -> np.ndarray:
    order = _sort_within(g, v, ng)
    vs = v[order]
    counts, starts = _group_starts(g, ng)
    out = np.full(ng, np.nan)
    ok = counts > 0
    lo = starts[ok] + (counts[ok] - 1) // 2
    hi = starts[ok] + counts[ok] // 2
    out[ok] = (vs[lo] + vs[hi]) / 2
    return out


def _theil_sen_chunk(g, x, y, ng):
    """Theil–Sen for groups 0..ng-1 of one chunk."""
    counts, starts = _group_starts(g, ng)
    n_pts = g.size
    ends = (starts + counts)[g]
    later = ends - np.arange(n_pts) - 1          # points after i in its group
    total = int(later.sum())
    slope = np.full(ng, np.nan)
    low = np.full(ng, np.nan)
    high = np.full(ng, np.nan)
    if total == 0:
        return slope, low, high
    i = np.repeat(np.arange(n_pts), later)
    offs = np.arange(total) - np.repeat(np.cumsum(later) - later, later)
    j = i + 1 + offs
    dx = x[j] - x[i]
    keep = dx != 0
    i, j, dx = i[keep], j[keep], dx[keep]
    s = (y[j] - y[i]) / dx
    pg = g[i]
    order = _sort_within(pg, s, ng)
    s = s[order]
    m, mstart = _group_starts(pg[order], ng)
    ok = m > 0
    lo = mstart[ok] + (m[ok] - 1) // 2
    hi = mstart[ok] + m[ok] // 2
    slope[ok] = (s[lo] + s[hi]) / 2
    # Sen (1968) eq. 2.6 (no ties), indices as in scipy.stats.theilslopes (95 %)
    z = stats.norm.ppf(0.025)
    nn = counts[ok].astype(float)
    sigma = np.sqrt(nn * (nn - 1) * (2 * nn + 5) / 18.0)
    mm = m[ok]
    ru = np.minimum(np.round((mm - z * sigma) / 2.0).astype(int), mm - 1)
    rl = np.maximum(np.round((mm + z * sigma) / 2.0).astype(int) - 1, 0)
    low[ok] = s[mstart[ok] + rl]
    high[ok] = s[mstart[ok] + ru]
    return slope, low, high


def _theil_sen(g, x, y, ng):
    counts, starts = _group_starts(g, ng)
    pairs = counts * (counts - 1) // 2
    slope = np.full(ng, np.nan)
    low = np.full(ng, np.nan)
    high = np.full(ng, np.nan)
    cum = np.cumsum(pairs)
    first = 0
    while first < ng:
        base = cum[first - 1] if first else 0
        last = max(int(np.searchsorted(cum, base + PAIR_CHUNK, side="right")), first + 1)
        last = min(last, ng)
        a, b = starts[first], starts[last - 1] + counts[last - 1]
        sl, lo, hi = _theil_sen_chunk(g[a:b] - first, x[a:b], y[a:b], last - first)
        slope[first:last], low[first:last], high[first:last] = sl, lo, hi
        first = last
    return slope, low, high


def fit_groups(g: np.ndarray, x: np.ndarray, y: np.ndarray, ng: int, *,
               min_months: int = MIN_MONTHS) -> Fits:
    """All enterprises' fits in a few array passes."""
    g = np.asarray(g, dtype=np.int64)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, ob, oa, ssr, sxx, syy, or2 = _grouped_ols(g, x, y, ng)
    slope, low, high = _theil_sen(g, x, y, ng)
    with np.errstate(invalid="ignore", divide="ignore"):
        inter = _grouped_median(g, y, ng) - slope * _grouped_median(g, x, ng)
        resid = y - (inter[g] + slope[g] * x)
        rss = np.bincount(g, resid * resid, ng)
        r2 = 1.0 - rss / syy
        resid_sd = np.sqrt(rss / np.maximum(n - 2, 1))
        # Chow test: two halves of each series against the whole
        counts, starts = _group_starts(g, ng)
        half = (np.arange(g.size) - starts[g]) >= counts[g] // 2
        h = g * 2 + half
        _, _, _, ssr_h, _, _, _ = _grouped_ols(h, x, y, 2 * ng)
        pooled = np.nan_to_num(ssr_h[0::2]) + np.nan_to_num(ssr_h[1::2])
        df2 = n - 4
        fstat = ((ssr - pooled) / 2.0) / (pooled / df2)
        break_p = np.where((df2 > 0) & (n >= min_months) & (pooled > 0),
                           stats.f.sf(fstat, 2, np.maximum(df2, 1)), np.nan)
        cv = np.sqrt(sxx / n) / np.abs(np.bincount(g, x, ng) / n)
    flags: list[list[str]] = [[] for _ in range(ng)]
    few = np.flatnonzero(n < min_months)
    low_var = np.flatnonzero(~(cv > 0.01))
    poor = np.flatnonzero(~(r2 >= POOR_FIT_R2) & (n >= min_months))
    neg = np.flatnonzero(slope < 0)
    brk = np.flatnonzero(break_p < BREAK_P)
    for name, idx in (("too_few_months", few), ("low_variation", low_var),
                      ("poor_fit", poor), ("negative_slope", neg),
                      ("structural_break", brk)):
        for k in idx.tolist():
            flags[k].append(name)
    unusable = (n < min_months) | ~np.isfinite(slope)
    for arr in (slope, inter, r2, resid_sd, low, high):
        arr[unusable] = np.nan
    return Fits(n=n.astype(int), slope=slope, intercept=inter, r2=r2, resid_sd=resid_sd,
                ci_low=low, ci_high=high, ols_slope=ob, ols_intercept=oa, ols_r2=or2,
                break_p=break_p, flags=flags)


def fit_one(x, y, *, min_months: int = MIN_MONTHS) -> dict:
    """One enterprise (the page's scatter, tests, the per-enterprise baseline)."""
    x = np.asarray(x, float)
    f = fit_groups(np.zeros(x.size, np.int64), x, np.asarray(y, float), 1,
                   min_months=min_months)
    return {k: (getattr(f, k)[0] if k != "flags" else f.flags[0])
            for k in ("n", "slope", "intercept", "r2", "resid_sd", "ci_low", "ci_high",
                      "ols_slope", "ols_intercept", "ols_r2", "break_p", "flags")}
