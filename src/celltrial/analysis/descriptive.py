"""Descriptive statistics of one group's values, as the tables show them."""

from __future__ import annotations

import math

import numpy as np


def quartiles(values: np.ndarray) -> tuple[float, float, float]:
    """(median, Q1, Q3), R's default type 7 quantiles; NaNs when empty."""
    if values.size == 0:
        return (math.nan, math.nan, math.nan)
    q1, med, q3 = np.percentile(values, [25.0, 50.0, 75.0])
    return (float(med), float(q1), float(q3))


def mean_sd(values: np.ndarray) -> tuple[float, float]:
    """(mean, SD with n - 1); NaNs when empty, the SD NaN for one value."""
    if values.size == 0:
        return (math.nan, math.nan)
    sd = float(np.std(values, ddof=1)) if values.size > 1 else math.nan
    return (float(np.mean(values)), sd)
