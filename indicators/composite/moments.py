"""Skewness and excess kurtosis as COINr, e1071 (type 2) and Excel compute them, along axis 0
of an array, ignoring NaN; used to decide which indicators have outliers to treat."""

from __future__ import annotations

import numpy as np


def skew_kurt(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample skewness g = sqrt(n) sum(d^3) / sum(d^2)^1.5 * sqrt(n(n-1)) / (n-2) and excess
    kurtosis ((n+1)(r-3)+6)(n-1)/((n-2)(n-3)) with r = n sum(d^4) / sum(d^2)^2, d = x - mean.
    NaN where fewer than 4 values or no spread."""
    # What np.nanmean and np.nansum compute, in fewer passes (they copy and mask the data at
    # every call); and products, not d**3 and d**4: numpy's pow is ~100x slower. This test
    # runs after each point winsorised, so it was most of the treatment's time.
    present = ~np.isnan(x)
    n = np.sum(present, axis=0).astype(float)
    # Both are unchanged by scaling, so each column is first scaled near 1 (see near_one):
    # the fourth powers of values above ~1e77 overflow, those below ~1e-77 vanish.
    x = x * near_one(np.max(np.where(present, np.abs(x), 0.0), axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.sum(np.where(present, x, 0.0), axis=0) / n
        d = np.where(present, x - mean, 0.0)
        d2 = d * d
        m2 = np.sum(d2, axis=0)
        m3 = np.sum(d2 * d, axis=0)
        m4 = np.sum(d2 * d2, axis=0)
        g = np.sqrt(n) * m3 / m2**1.5 * np.sqrt(n * (n - 1)) / (n - 2)
        r = n * m4 / m2**2
        k = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    bad = (n < 4) | (m2 <= 0)
    return np.where(bad, np.nan, g), np.where(bad, np.nan, k)


def near_one(reach: np.ndarray) -> np.ndarray:
    """The power of 2 that scales values whose largest magnitude is `reach` into [0.5, 1):
    exact (a power of 2 changes only the exponent), so a statistic that does not change with
    the scale is computed the same, without overflow or underflow. 1 for a reach of 0; a
    scale up is bounded at 2 ** 1000, where a power of 2 is still a finite number."""
    _, exponent = np.frexp(reach)
    return np.ldexp(1.0, -np.maximum(exponent, -1000))


def passes(skew: np.ndarray, kurt: np.ndarray, skew_max: float, kurt_max: float) -> np.ndarray:
    """An indicator fails only when both thresholds are exceeded (COINr, JRC practice);
    too few values to judge passes."""
    return ~((np.abs(skew) >= skew_max) & (kurt >= kurt_max))
