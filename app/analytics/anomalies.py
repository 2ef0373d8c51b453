"""Anomaly flags per enterprise-month, vectorised over a whole province (R-10.3).

Four tests, each with its reason in words and the numbers behind it:

* `residual` — the month's residual after trend (statsmodels `seasonal_decompose`'s 2×12
  moving average, on every complete series at once) and seasonality (the median of each
  calendar month) has a robust z-score 0.6745·(r − median r)/MAD above `Z_LIMIT`
  (Iglewicz & Hoaglin 1993: 3.5) and lies `RESIDUAL_MIN_PCT` % or more from the expected;
* `level_shift` — the median of the next `SHIFT_AFTER` deseasonalised months differs from
  the median of the `SHIFT_BEFORE` months before by more than `SHIFT_PCT` % and by more
  than `Z_LIMIT` robust deviations of the months before; the first month of the new level
  is flagged;
* `fuel_ratio` — combustion CO2 per MWh of electricity far (robust z) from the
  enterprise's own other months, and `RATIO_FACTOR` times off their median;
* `peer_intensity` — CO2 per 万元 value added far (robust z of its logarithm) from the
  same industry's enterprises in the same month (at least `MIN_PEERS`), and at least
  `PEER_FACTOR` times above or below their median.

Input is a matrix (enterprises × months, NaN = missing); output is a list of `Flag`s.
Nothing here touches the database.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from app.i18n import Msg, known, translate_known

Z_LIMIT = 3.5
MAD_K = 0.6745
SHIFT_BEFORE, SHIFT_AFTER, SHIFT_PCT = 6, 3, 30.0
RESIDUAL_MIN_PCT = 15.0  # and at least this far from the expected value (%)
PEER_FACTOR = 2.0        # and at least this many times above / below the peers' median
RATIO_FACTOR = 1.5       # fuel/electricity: at least this many times off its own median
MIN_PEERS = 5
KINDS = {"residual": "季节残差异常", "level_shift": "水平突变",
         "fuel_ratio": "燃料与用电比例异常", "peer_intensity": "强度偏离同行"}


@dataclass
class Flag:
    row: int          # index of the enterprise in the input
    col: int          # index of the month
    kind: str
    score: float
    reason: str
    numbers: dict


def robust_z(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Modified z-score along `axis`, NaN-aware: 0.6745·(x − median)/MAD, or, where more
    than half the values equal the median (MAD = 0), (x − median)/(1.2533·mean absolute
    deviation) (IBM SPSS / Iglewicz–Hoaglin convention); 0 where both are 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(x, axis=axis, keepdims=True)
        dev = np.abs(x - med)
        mad = np.nanmedian(dev, axis=axis, keepdims=True)
        mean_ad = np.nanmean(dev, axis=axis, keepdims=True)
        z = np.where(mad > 0, MAD_K * (x - med) / np.where(mad > 0, mad, 1),
                     (x - med) / np.where(mean_ad > 0, 1.253314 * mean_ad, np.nan))
    return np.nan_to_num(z, nan=0.0)


def _fmt(v: float) -> str:
    return f"{v:,.2f}"


def _label(period: int) -> str:
    return Msg(PERIOD, year=period // 100, month=period % 100)


#: the reasons are stored in Chinese as written; a page in English shows them translated by
#: matching these msgids (app.i18n.translate_known), so write reasons only through them
PERIOD = "%(year)s年%(month)s月"
RESIDUAL = ("%(period)s排放 %(actual)s t，按本企业的趋势和季节规律预期约 %(expected)s t"
            "（稳健 z = %(z)s，阈值 ±%(limit)s）")
SHIFT = ("自%(period)s起，剔除季节因素后的月排放水平由约 %(before)s t 变为约 %(after)s t"
         "（%(change)s%%，阈值 ±%(limit)s%%）")
RATIO = ("%(period)s燃料燃烧排放与用电量之比为 %(ratio)s tCO2/MWh，本企业其他月份中位数 "
         "%(median)s（稳健 z = %(z)s）")
PEER = ("%(period)s碳排放强度 %(intensity)s tCO2/万元，同行业（%(industry)s）同月中位数 "
        "%(median)s，共 %(peers)s 家（稳健 z = %(z)s）")
REASONS = known(RESIDUAL, SHIFT, RATIO, PEER, PERIOD)


def reason_text(reason: str) -> str:
    """A stored reason in the reader's language."""
    return translate_known(reason, REASONS)


def residual_flags(y: np.ndarray, periods: list[int]) -> tuple[list[Flag], np.ndarray]:
    """Seasonal-residual outliers; also returns the deseasonalised matrix (NaN where a
    series was too short or has gaps) for the level-shift test. Series that start later
    (missing months only at the front) are decomposed together with those of the same
    start; a series needs 24 months from its start on, without gaps."""
    out: list[Flag] = []
    deseason = np.full_like(y, np.nan)
    valid = ~np.isnan(y)
    starts = np.where(valid.any(axis=1), valid.argmax(axis=1), y.shape[1])
    gapless = valid.sum(axis=1) == y.shape[1] - starts
    for start in np.unique(starts[gapless & (y.shape[1] - starts >= 24)]):
        rows = np.flatnonzero(gapless & (starts == start))
        out += _residuals(y, rows, int(start), periods, deseason)
    return out, deseason


def _residuals(y: np.ndarray, rows: np.ndarray, start: int, periods: list[int],
               deseason: np.ndarray) -> list[Flag]:
    from statsmodels.tsa.seasonal import seasonal_decompose

    out: list[Flag] = []
    block = y[rows, start:]
    trend = np.asarray(seasonal_decompose(block.T, model="additive", period=12,
                                          extrapolate_trend=12).trend).T
    # seasonal index: the MEDIAN of each calendar month's detrended values (one spike in
    # three years does not leak into the other years, as a mean would), centred on zero
    detrended = block - trend
    seasonal = np.empty_like(block)
    for m in range(12):
        seasonal[:, m::12] = np.median(detrended[:, m::12], axis=1, keepdims=True)
    seasonal -= seasonal[:, :12].mean(axis=1, keepdims=True)
    resid = block - trend - seasonal
    deseason[rows, start:] = block - seasonal
    z = robust_z(resid, axis=1)
    expected_all = block - resid
    big = np.abs(resid) > RESIDUAL_MIN_PCT / 100 * np.abs(expected_all)
    for i, j in zip(*np.nonzero((np.abs(z) > Z_LIMIT) & big), strict=True):
        actual = float(block[i, j])
        expected = float(expected_all[i, j])
        col = start + int(j)
        out.append(Flag(int(rows[i]), col, "residual", float(z[i, j]),
                        Msg(RESIDUAL, period=_label(periods[col]), actual=_fmt(actual),
                            expected=_fmt(expected), z=f"{z[i, j]:+.1f}", limit=Z_LIMIT),
                        {"actual": round(actual, 4), "expected": round(expected, 4),
                         "z": round(float(z[i, j]), 2)}))
    return out


def level_shift_flags(d: np.ndarray, periods: list[int]) -> list[Flag]:
    out: list[Flag] = []
    n = d.shape[1]
    if n < SHIFT_BEFORE + SHIFT_AFTER:
        return out
    from numpy.lib.stride_tricks import sliding_window_view

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        positions = n - SHIFT_AFTER - SHIFT_BEFORE + 1
        before = sliding_window_view(d, SHIFT_BEFORE, axis=1)[:, :positions]
        after = sliding_window_view(d, SHIFT_AFTER, axis=1)[:, SHIFT_BEFORE:]
        mb, ma = np.median(before, axis=2), np.median(after, axis=2)
        mad = np.median(np.abs(before - mb[..., None]), axis=2)
        pct = (ma - mb) / np.where(np.abs(mb) > 0, np.abs(mb), np.nan) * 100
        dev = MAD_K * (ma - mb) / np.where(mad > 0, mad, np.nan)
    hit = (np.abs(np.nan_to_num(pct)) > SHIFT_PCT) & (np.abs(np.nan_to_num(dev)) > Z_LIMIT)
    # one flag per shift: among neighbouring hits, the position whose whole "after" window
    # is at the new level (largest change of the window's MEAN; its median ties there)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        strength = np.where(hit, np.abs(np.nan_to_num(np.mean(after, axis=2) - mb)), 0)
    for i, k in zip(*np.nonzero(hit), strict=True):
        lo, hi = max(k - SHIFT_AFTER + 1, 0), k + SHIFT_AFTER
        if strength[i, k] < strength[i, lo:hi].max():
            continue
        j = k + SHIFT_BEFORE  # first month of the new level
        out.append(Flag(int(i), int(j), "level_shift", float(pct[i, k]),
                        Msg(SHIFT, period=_label(periods[j]), before=_fmt(mb[i, k]),
                            after=_fmt(ma[i, k]), change=f"{pct[i, k]:+.1f}",
                            limit=f"{SHIFT_PCT:.0f}"),
                        {"before": round(float(mb[i, k]), 4), "after": round(float(ma[i, k]), 4),
                         "change_pct": round(float(pct[i, k]), 2)}))
    return out


def ratio_flags(fuel: np.ndarray, mwh: np.ndarray, periods: list[int]) -> list[Flag]:
    out: list[Flag] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ratio = np.where((fuel > 0) & (mwh > 0), fuel / np.where(mwh > 0, mwh, 1), np.nan)
        enough = (~np.isnan(ratio)).sum(axis=1) >= 6
        z = robust_z(np.log(ratio), axis=1)
        med = np.nanmedian(ratio, axis=1)
        far = (ratio > med[:, None] * RATIO_FACTOR) | (ratio < med[:, None] / RATIO_FACTOR)
    hit = (np.abs(z) > Z_LIMIT) & enough[:, None] & far
    for i, j in zip(*np.nonzero(hit), strict=True):
        out.append(Flag(int(i), int(j), "fuel_ratio", float(z[i, j]),
                        Msg(RATIO, period=_label(periods[j]), ratio=f"{ratio[i, j]:.3f}",
                            median=f"{med[i]:.3f}", z=f"{z[i, j]:+.1f}"),
                        {"ratio": round(float(ratio[i, j]), 4),
                         "own_median": round(float(med[i]), 4), "z": round(float(z[i, j]), 2)}))
    return out


def peer_flags(intensity: np.ndarray, industries: list[str | None],
               periods: list[int]) -> list[Flag]:
    out: list[Flag] = []
    ind = np.array([i or "" for i in industries])
    for code in {c for c in ind if c}:
        rows = np.flatnonzero(ind == code)
        if len(rows) < MIN_PEERS:
            continue
        block = intensity[rows]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            logs = np.log(np.where(block > 0, block, np.nan))
            peers = (~np.isnan(logs)).sum(axis=0)
            z = robust_z(logs, axis=0)
            med = np.nanmedian(np.where(block > 0, block, np.nan), axis=0)
        far = (block > med * PEER_FACTOR) | (block < med / PEER_FACTOR)
        hit = (np.abs(z) > Z_LIMIT) & (peers >= MIN_PEERS)[None, :] & far
        for a, j in zip(*np.nonzero(hit), strict=True):
            out.append(Flag(int(rows[a]), int(j), "peer_intensity", float(z[a, j]),
                            Msg(PEER, period=_label(periods[j]),
                                intensity=f"{block[a, j]:.3f}", industry=code,
                                median=f"{med[j]:.3f}", peers=int(peers[j]),
                                z=f"{z[a, j]:+.1f}"),
                            {"intensity": round(float(block[a, j]), 6),
                             "peer_median": round(float(med[j]), 6),
                             "peers": int(peers[j]), "z": round(float(z[a, j]), 2)}))
    return out


def detect(*, co2: np.ndarray, fuel: np.ndarray, mwh: np.ndarray, intensity: np.ndarray,
           industries: list[str | None], periods: list[int]) -> list[Flag]:
    """Every flag of the matrices (rows: enterprises, columns: `periods`)."""
    flags, deseason = residual_flags(co2, periods)
    flags += level_shift_flags(deseason, periods)
    flags += ratio_flags(fuel, mwh, periods)
    flags += peer_flags(intensity, industries, periods)
    return flags
