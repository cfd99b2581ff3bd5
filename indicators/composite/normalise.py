"""Normalise indicators onto a common scale. Values are first multiplied by the indicator's
direction, so that higher is always better, then rescaled.

Arrays are (P, U, k): periods, units, indicators. Statistics are taken over the units of each
period, or over every period at once when `pooled` (fixed goalposts: a time series of scores
stays comparable, a city's score moves only when its value does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata


def normalise(
    x: np.ndarray,
    directions: np.ndarray,
    params: dict[str, Any],
    targets: np.ndarray | None = None,
) -> np.ndarray:
    method = params.get("method", "minmax")
    axis = (0, 1) if params.get("pooled", False) else 1
    x = x * directions
    low, high = params.get("range", [0.0, 100.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "none":
            return x
        if method == "minmax":
            lo, hi = _min(x, axis), _max(x, axis)
            return _spread(x, lo, hi, low, high)
        if method == "distance_to_max":
            # COINr's formula; a column without spread goes to the middle (0.5) as in
            # minmax, instead of 0 / 0 = NaN
            lo, hi = _min(x, axis), _max(x, axis)
            span = np.where(hi > lo, hi - lo, 1.0)
            return np.where(hi > lo, 1 - (hi - x) / span, np.where(np.isnan(x), np.nan, 0.5))
        if method == "fraction_of_max":
            return x / _max(x, axis)
        if method == "zscore":
            mean = np.nanmean(x, axis=axis, keepdims=True)
            sd = np.nanstd(x, axis=axis, ddof=1, keepdims=True)
            # a column without spread is at the mean (not 0 / 0 = NaN), as minmax puts it in
            # the middle; spread is max > min, as the sd of equal values can round above 0
            flat = ~(_max(x, axis) > _min(x, axis))
            z = np.where(flat, 0.0, (x - mean) / np.where(flat, 1.0, sd))
            return np.where(np.isnan(x), np.nan, z) * params.get("sd", 1.0) + params.get(
                "mean", 0.0
            )
        if method == "rank":
            return _ranks(x, axis)
        if method == "percentile_rank":
            count = np.sum(~np.isnan(x), axis=axis, keepdims=True)
            return (_ranks(x, axis) - 1) / (count - 1)
        if method == "distance_to_target":
            if targets is None or np.isnan(targets).any():
                raise ValueError("distance_to_target needs a target for every indicator")
            target = targets * directions
            lo = _min(x, axis)
            return np.minimum((x - lo) / (target - lo), 1.0)
        if method == "goalposts":
            lo = params.get("low")
            hi = params.get("high")
            # Goalposts not given are fixed from all periods together.
            lo = _min(x, (0, 1)) if lo is None else lo * directions
            hi = _max(x, (0, 1)) if hi is None else hi * directions
            lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
            return np.clip(_spread(x, lo, hi, 0.0, 1.0), 0.0, 1.0) * (high - low) + low
    raise ValueError(f"unknown normalisation {method!r}")


def _min(x: np.ndarray, axis) -> np.ndarray:
    return np.nanmin(x, axis=axis, keepdims=True)


def _max(x: np.ndarray, axis) -> np.ndarray:
    return np.nanmax(x, axis=axis, keepdims=True)


def _spread(x, lo, hi, low: float, high: float) -> np.ndarray:
    """Min-max; an indicator without spread maps to the middle of the range rather than to a
    division by zero: it carries nothing to compare on."""
    span = hi - lo
    scaled = (x - lo) / np.where(span > 0, span, 1.0) * (high - low) + low
    return np.where(span > 0, scaled, np.where(np.isnan(x), np.nan, (low + high) / 2))


def _ranks(x: np.ndarray, axis) -> np.ndarray:
    """Rank 1 = lowest, ties share the lowest rank (so the best city has the highest rank
    number, as a normalised value must)."""
    if axis == (0, 1):
        flat = x.reshape(-1, x.shape[-1])
        return rankdata(flat, method="min", axis=0, nan_policy="omit").reshape(x.shape)
    return rankdata(x, method="min", axis=1, nan_policy="omit")
