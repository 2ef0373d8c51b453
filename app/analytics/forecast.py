"""Monthly forecasts whose model earns its place in a backtest (R-10.3).

Candidate: Holt-Winters with additive seasonality (statsmodels `ExponentialSmoothing`,
ETS(A,N,A)); prediction intervals from 500 simulated paths of the fitted model. Baseline:
the seasonal naive forecast (next January = last January), intervals as in Hyndman &
Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.) §5.5:
σ_h = σ·√(k + 1), k = ⌊(h − 1)/12⌋. Series too short for a season fall back to the naive
forecast (last value, σ_h = σ·√h).

Accuracy is measured, not assumed: a rolling-origin backtest (origins `h_bt` months apart,
the last one `h_bt` months before the end; each forecasts `h_bt` months) gives MAPE and MASE
(Hyndman & Koehler 2006; scale: in-sample mean absolute seasonal difference) for the model
and the baseline on the same points. The model is used only where its MASE is lower.

Pure numpy / statsmodels: nothing here touches the database.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from app.i18n import Msg

SEASON = 12
MIN_MODEL_FIT = 2 * SEASON   # Holt-Winters needs two full seasons to start
Z95 = 1.959964


@dataclass
class Forecast:
    method: str                       # ets | seasonal_naive | naive | none
    label: str
    values: list[float]
    lower: list[float]
    upper: list[float]
    reason: str | None = None         # why the method is what it is (Chinese)
    backtest: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"method": self.method, "label": self.label, "values": self.values,
                "lower": self.lower, "upper": self.upper, "reason": self.reason,
                "backtest": self.backtest, "notes": self.notes}


LABELS = {"ets": "指数平滑（Holt-Winters 加法季节）", "seasonal_naive": "季节朴素（基线）",
          "naive": "朴素（沿用上月）", "none": "无法预测"}


# ------------------------------------------------------------------ baselines


def seasonal_naive(y: np.ndarray, h: int) -> np.ndarray:
    n = len(y)
    return np.array([y[n - SEASON + (i % SEASON)] for i in range(h)], dtype=float)


def _sn_sigma(y: np.ndarray) -> float:
    e = y[SEASON:] - y[:-SEASON]
    return float(np.sqrt(np.mean(e ** 2))) if len(e) else 0.0


def seasonal_naive_interval(y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    point = seasonal_naive(y, h)
    k = np.floor(np.arange(h) / SEASON)
    half = Z95 * _sn_sigma(y) * np.sqrt(k + 1)
    return point - half, point + half


def naive_interval(y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    point = np.full(h, y[-1], dtype=float)
    d = np.diff(y)
    sigma = float(np.sqrt(np.mean(d ** 2))) if len(d) else 0.0
    half = Z95 * sigma * np.sqrt(np.arange(1, h + 1))
    return point, point - half, point + half


# ------------------------------------------------------------------ the model


START = (0.3, 0.1)  # α, γ where the optimiser starts (see `_fit`)


def _fit(y: np.ndarray, start: tuple[float, float] | None = None):
    """Holt-Winters fitted by L-BFGS-B from `start` (α, γ). statsmodels' own start
    (α = 0.5/m, at the edge of the range for monthly data) converged to worse optima on
    realistic series and took a third longer; a mid-range start, or the parameters of the
    previous (earlier) backtest window, lowers the error and the time (benchmarks/analytics)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    alpha, gamma = start or START
    gamma = min(gamma, 0.99 * (1 - alpha))  # statsmodels' bound: γ ≤ 1 − α
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short series
        model = ExponentialSmoothing(y, seasonal="add", seasonal_periods=SEASON,
                                     initialization_method="heuristic")
        return model.fit(use_brute=False, start_params=[alpha, gamma])


def _params(res) -> tuple[float, float]:
    return float(res.params["smoothing_level"]), float(res.params["smoothing_seasonal"])


def ets_forecast(y: np.ndarray, h: int, start: tuple[float, float] | None = None):
    """The point forecast and the fitted (α, γ), which warm-start the next window."""
    res = _fit(y, start)
    return np.asarray(res.forecast(h), dtype=float), _params(res)


def ets_interval(y: np.ndarray, h: int, *, seed: int = 2026, paths: int = 500,
                 start: tuple[float, float] | None = None,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    res = _fit(y, start)
    point = np.asarray(res.forecast(h), dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sims = np.asarray(res.simulate(h, repetitions=paths, error="add", anchor="end",
                                       rng=np.random.default_rng(seed)))
    sims = sims.reshape(h, -1)
    return point, np.percentile(sims, 2.5, axis=1), np.percentile(sims, 97.5, axis=1)


# ------------------------------------------------------------------ accuracy


def _mase_scale(train: np.ndarray) -> float | None:
    if len(train) <= SEASON:
        return None
    scale = float(np.mean(np.abs(train[SEASON:] - train[:-SEASON])))
    return scale if scale > 0 else None


def backtest(y: np.ndarray, *, h_bt: int = 6, origins: int = 2) -> dict:
    """Errors of the model and the baseline over rolling origins (each needs a series of
    at least two seasons before it). {} when no origin fits."""
    return _backtest(y, h_bt=h_bt, origins=origins)[0]


def _backtest(y: np.ndarray, *, h_bt: int, origins: int,
              ) -> tuple[dict, tuple[float, float] | None]:
    """`backtest`, and the (α, γ) fitted on the last window (the final fit starts there)."""
    n = len(y)
    starts = [n - h_bt * (i + 1) for i in range(origins)]
    starts = sorted(o for o in starts if o >= MIN_MODEL_FIT)
    if not starts:
        return {}, None
    m_err, b_err, actual, scaled_m, scaled_b = [], [], [], [], []
    start = None  # each window starts where the earlier one ended (no later data leaks)
    for o in starts:
        train, test = y[:o], y[o:o + h_bt]
        fm, start = ets_forecast(train, len(test), start)
        fb = seasonal_naive(train, len(test))
        m_err.append(test - fm)
        b_err.append(test - fb)
        actual.append(test)
        scale = _mase_scale(train)
        if scale:
            scaled_m.append(np.abs(test - fm) / scale)
            scaled_b.append(np.abs(test - fb) / scale)
    a = np.concatenate(actual)
    em, eb = np.concatenate(m_err), np.concatenate(b_err)
    nz = np.abs(a) > 0
    out = {"origins": len(starts), "horizon": h_bt, "points": int(len(a))}
    for name, e, sc in (("model", em, scaled_m), ("baseline", eb, scaled_b)):
        out[name] = {
            "mape": round(float(np.mean(np.abs(e[nz]) / np.abs(a[nz])) * 100), 2)
            if nz.any() else None,
            "mase": round(float(np.mean(np.concatenate(sc))), 3) if sc else None}
    return out, start


# ------------------------------------------------------------------ entry point


def clean(values: list[float | None]) -> tuple[np.ndarray, list[str], str | None]:
    """The usable tail of a monthly series: interior gaps of up to two months are filled
    by linear interpolation (noted); a longer gap cuts the series to what follows it."""
    notes: list[str] = []
    y = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    # drop leading / trailing missing months
    idx = np.flatnonzero(~np.isnan(y))
    if len(idx) == 0:
        return np.array([]), notes, "没有任何数据"
    y = y[idx[0]:idx[-1] + 1]
    gaps = np.isnan(y)
    if gaps.any():
        run_starts = np.flatnonzero(np.diff(np.concatenate(([0], gaps.astype(int)))) == 1)
        run_ends = np.flatnonzero(np.diff(np.concatenate((gaps.astype(int), [0]))) == -1)
        longest = int(max(e - s + 1 for s, e in zip(run_starts, run_ends, strict=True)))
        if longest > 2:
            last_gap_end = int(run_ends[-1])
            y = y[last_gap_end + 1:]
            notes.append(Msg("序列中有连续 %(gap)s 个月缺失，仅使用其后的 %(n)s 个月",
                             gap=longest, n=len(y)))
            gaps = np.isnan(y)
        if gaps.any():
            x = np.arange(len(y))
            y[gaps] = np.interp(x[gaps], x[~gaps], y[~gaps])
            notes.append(Msg("插补了 %(n)s 个缺失月份（线性插值）", n=int(gaps.sum())))
    return y, notes, None


def forecast(values: list[float | None], *, h: int = 12, h_bt: int = 6,
             origins: int = 2) -> Forecast:
    """Forecast the next `h` months of a monthly series (oldest first; None = missing)."""
    y, notes, problem = clean(values)
    if problem or len(y) < 2:
        return Forecast("none", LABELS["none"], [], [], [], reason=problem or
                        "数据不足 2 个月，无法预测", notes=notes)
    if len(y) < SEASON + 1:
        point, lo, hi = naive_interval(y, h)
        return Forecast("naive", LABELS["naive"], _r(point), _r(lo), _r(hi),
                        reason=Msg("仅有 %(n)s 个月数据（不足 13 个月），无法使用季节方法",
                                   n=len(y)),
                        notes=notes)
    lo_b, hi_b = seasonal_naive_interval(y, h)
    base = Forecast("seasonal_naive", LABELS["seasonal_naive"], _r(seasonal_naive(y, h)),
                    _r(lo_b), _r(hi_b), notes=notes)
    bt, start = (_backtest(y, h_bt=h_bt, origins=origins) if len(y) >= MIN_MODEL_FIT + h_bt
                 else ({}, None))
    base.backtest = bt
    if not bt:
        base.reason = Msg("仅有 %(n)s 个月数据（回测至少需要 %(need)s 个月），使用季节朴素基线",
                          n=len(y), need=MIN_MODEL_FIT + h_bt)
        return base
    m, b = bt["model"]["mase"], bt["baseline"]["mase"]
    if m is None or b is None or not m < b:
        base.reason = "回测中模型未优于季节朴素基线（MASE 未降低），使用基线"
        return base
    point, lo, hi = ets_interval(y, h, start=start)
    return Forecast("ets", LABELS["ets"], _r(point), _r(lo), _r(hi),
                    reason="回测中优于季节朴素基线（MASE 更低）", backtest=bt, notes=notes)


def _r(a) -> list[float]:
    """Rounded, and never below zero: energy and emissions are not negative."""
    return [round(max(float(v), 0.0), 4) for v in a]
