"""Anomaly flags (R-10.3): planted outliers are found with the right kind and month, a
clean province is quiet, and each flag says why in words and numbers."""

import numpy as np

from app.analytics import anomalies as A

PERIODS = [y * 100 + m for y in (2023, 2024, 2025) for m in range(1, 13)]


def _province(n=40, seed=3):
    rng = np.random.default_rng(seed)
    t = np.arange(36)
    co2 = 100 + 10 * np.sin(2 * np.pi * t / 12)[None, :] + rng.normal(0, 2, (n, 36))
    fuel = co2 * 0.6 * rng.normal(1, 0.03, (n, 36))
    mwh = co2 * 0.5
    return co2, fuel, mwh


def _detect(co2, fuel, mwh, va=50.0, industries=None):
    return A.detect(co2=co2, fuel=fuel, mwh=mwh, intensity=co2 / va,
                    industries=industries or ["26"] * len(co2), periods=PERIODS)


def test_a_clean_province_has_no_flags():
    assert _detect(*_province()) == []


def test_each_planted_anomaly_is_found():
    co2, fuel, mwh = _province()
    co2[3, 20] = 200                        # a spike: residual (and peer intensity)
    co2[7, 24:] += 60                       # from 2025-01 on: a level shift
    fuel[9, 15] *= 3                        # fuel burnt without electricity to match
    fuel[7, 24:] += 36
    got = {(f.row, PERIODS[f.col], f.kind) for f in _detect(co2, fuel, mwh)}
    assert (3, 202409, "residual") in got
    assert (7, 202501, "level_shift") in got
    assert (9, 202404, "fuel_ratio") in got
    assert not any(k == "level_shift" and r != 7 for r, _, k in got)


def test_peer_intensity_needs_peers_and_distance():
    co2, fuel, mwh = _province(n=12)
    va = np.full(co2.shape, 50.0)
    va[5, 30] = 10.0                        # same CO2 on a fifth of the value added
    flags = A.detect(co2=co2, fuel=fuel, mwh=mwh, intensity=co2 / va,
                     industries=["26"] * 12, periods=PERIODS)
    [peer] = [f for f in flags if f.kind == "peer_intensity"]
    assert (peer.row, PERIODS[peer.col]) == (5, 202507)
    assert "同月中位数" in peer.reason and peer.numbers["peers"] == 12
    # four peers are too few for a comparison
    flags = A.detect(co2=co2[:4], fuel=fuel[:4], mwh=mwh[:4], intensity=(co2 / va)[:4],
                     industries=["26"] * 4, periods=PERIODS)
    assert not [f for f in flags if f.kind == "peer_intensity"]


def test_reasons_carry_the_numbers():
    co2, fuel, mwh = _province()
    co2[3, 20] = 200
    [f] = [f for f in _detect(co2, fuel, mwh) if f.kind == "residual" and f.row == 3]
    assert f.numbers["actual"] == 200.0 and 90 < f.numbers["expected"] < 115
    assert "2024年9月排放 200.00 t" in f.reason and "稳健 z" in f.reason


def test_robust_z_when_most_values_are_equal():
    z = A.robust_z(np.array([[1.0] * 10 + [3.0]]))
    assert z[0, -1] > 3.5 and z[0, 0] == 0
