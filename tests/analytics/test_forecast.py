"""Forecasts (R-10.3): the seasonal-naive baseline by hand, the model used only where its
backtest beats the baseline, and the fall-backs for short or gappy series."""

import numpy as np
import pytest

from app.analytics import forecast as F


def _seasonal(n, *, trend=0.0, noise=0.0, seed=1):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + trend * t + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, noise, n)


def test_seasonal_naive_and_its_interval_by_hand():
    y = np.array([float(v) for v in range(1, 25)])  # 1..24: each month one more a year later
    assert list(F.seasonal_naive(y, 14)) == [13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                                             13, 14]
    lo, hi = F.seasonal_naive_interval(y, 14)
    # residuals y_t - y_{t-12} are all 12 -> sigma 12; h <= 12: k = 0, h = 13, 14: k = 1
    assert hi[0] - lo[0] == pytest.approx(2 * 1.959964 * 12)
    assert hi[12] - lo[12] == pytest.approx(2 * 1.959964 * 12 * np.sqrt(2))


def test_model_used_only_where_it_beats_the_baseline():
    for seed in range(4):
        y = _seasonal(36, trend=1.5, noise=2, seed=seed)
        fc = F.forecast(list(y))
        m, b = fc.backtest["model"]["mase"], fc.backtest["baseline"]["mase"]
        assert fc.backtest["origins"] == 2 and fc.backtest["points"] == 12
        assert (fc.method == "ets") == (m < b), (seed, m, b)
        assert len(fc.values) == len(fc.lower) == len(fc.upper) == 12
        assert all(lo <= v <= hi for v, lo, hi in zip(fc.values, fc.lower, fc.upper,
                                                        strict=True))
    # a steady trend defeats "same month last year": the model wins
    fc = F.forecast(list(_seasonal(36, trend=3, noise=1)))
    assert fc.method == "ets" and "优于" in fc.reason


def test_baseline_errors_by_hand():
    y = _seasonal(36, trend=2, noise=3, seed=7)
    bt = F.backtest(y, h_bt=6, origins=2)
    errs, actual, scaled = [], [], []
    for o in (24, 30):
        train, test = y[:o], y[o:o + 6]
        fb = train[o - 12:o - 6]  # seasonal naive for the next 6 months
        errs += list(test - fb)
        actual += list(test)
        scale = np.mean(np.abs(train[12:] - train[:-12]))
        scaled += list(np.abs(test - fb) / scale)
    assert bt["baseline"]["mape"] == round(
        float(np.mean(np.abs(errs) / np.abs(actual)) * 100), 2)
    assert bt["baseline"]["mase"] == round(float(np.mean(scaled)), 3)


def test_short_and_gappy_series_fall_back_and_say_why():
    fc = F.forecast([5.0, 6.0, 7.0])
    assert fc.method == "naive" and "不足 13 个月" in fc.reason and fc.values == [7.0] * 12
    fc = F.forecast(list(_seasonal(20)))
    assert fc.method == "seasonal_naive" and "回测至少需要" in fc.reason
    assert F.forecast([None, None]).method == "none"
    vals = list(_seasonal(36, trend=1, noise=1))
    vals[10] = vals[11] = None
    fc = F.forecast(vals)
    assert "插补了 2 个缺失月份" in fc.notes[0] and fc.backtest
    vals = list(_seasonal(36))
    vals[3:8] = [None] * 5
    fc = F.forecast(vals)
    assert "连续 5 个月缺失" in fc.notes[0] and "仅使用其后的 28 个月" in fc.notes[0]


def test_a_perfectly_repeating_series_keeps_the_baseline():
    y = [100 + 20 * np.sin(2 * np.pi * t / 12) for t in range(36)]
    fc = F.forecast(y)
    assert fc.method == "seasonal_naive"
    assert fc.values == pytest.approx([round(v, 4) for v in y[24:36]])


def test_forecasts_are_never_negative():
    fc = F.forecast([10, 0, 0, 9, 0, 0, 8, 0, 0, 7, 0, 0, 6, 0])
    assert min(fc.values + fc.lower) >= 0
