"""Timing shared by the benchmarks: the median of repeated runs after one warm-up run."""

from __future__ import annotations

import time

import numpy as np


def median_ms(run, repeats: int = 50) -> float:
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))
