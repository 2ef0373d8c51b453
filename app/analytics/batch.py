"""Forecasts for many series: the series are read in one query, computed in `processes`
worker processes (pure numpy/statsmodels: the children never touch the database) and
written back in one statement per chunk."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from app.analytics import forecast

CHUNK = 500


def compute(rows: np.ndarray) -> list[dict]:
    """Forecast.as_dict() of each row (a monthly series, NaN = missing)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return [forecast.forecast([None if np.isnan(v) else float(v) for v in row]).as_dict()
            for row in rows]


def compute_many(matrix: np.ndarray, *, processes: int = 1) -> list[dict]:
    """`compute` over the rows of `matrix`, in chunks over `processes` processes."""
    import statsmodels.tsa.holtwinters  # noqa: F401  (once, before the children fork)

    if processes <= 1 or len(matrix) < 4 * processes:
        return compute(matrix)
    size = max(1, min(CHUNK, -(-len(matrix) // (4 * processes))))
    chunks = [matrix[i:i + size] for i in range(0, len(matrix), size)]
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("fork")) as pool:
        out: list[dict] = []
        for part in pool.map(compute, chunks):
            out.extend(part)
    return out


def forecast_all(*, processes: int = 1) -> int:
    from app.analytics import service

    return service.run_forecasts(processes=processes)
