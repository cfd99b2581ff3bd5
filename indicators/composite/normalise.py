"""Normalise indicators onto a common scale. Values are first multiplied by the indicator's
direction, so that higher is always better, then rescaled.

Arrays are (P, U, k): periods, units, indicators. Statistics are taken over the units of each
period, or over every period at once when `pooled` (fixed goalposts: a time series of scores
stays comparable, a city's score moves only when its value does).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.stats import rankdata

from indicators.composite.moments import near_one


class NormalisationError(ValueError):
    """A normalisation not defined for one column's values: `column` is its position in the
    block given to normalise() and `period` the period's (None: every period), so that the
    caller can name the indicator."""

    def __init__(self, column: int, period: int | None, reason: str) -> None:
        super().__init__(reason)
        self.column, self.period, self.reason = column, period, reason


def normalise(
    x: np.ndarray,
    directions: np.ndarray,
    params: dict[str, Any],
    targets: np.ndarray | None = None,
) -> np.ndarray:
    """Rules where a formula would divide by zero, all documented in docs/composite.md: a
    column without spread goes to the middle of the scale (minmax, goalposts, distance_to_max,
    zscore) or to the bottom rank (rank, percentile_rank, as ties); distance_to_target gives 1
    to every unit when the target is at or below the lowest value (all have reached it); an
    all-missing column stays missing; fraction_of_max with a maximum of 0 or below is refused
    (x / 0 is not defined, and x / max with max < 0 would reverse the order)."""
    if params.get("method", "minmax") == "fraction_of_max":
        _check_positive_max(x * directions, params)
    if params.get("method", "minmax") != "none":
        # Every other method gives the same result for a column scaled by a power of 2,
        # exactly, with its goalposts and target: scaled near 1, a spread such as
        # 1e308 - (-1e308) does not overflow, nor does the sd of values near 1e-320 vanish.
        directions = directions * _scale(x, params, targets)
    with warnings.catch_warnings():
        # numpy warns of an all-missing column's min, max and sd: that column stays missing
        warnings.simplefilter("ignore", RuntimeWarning)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _normalise(x * directions, params, targets, directions)


def _scale(x: np.ndarray, params: dict[str, Any], targets: np.ndarray | None) -> np.ndarray:
    """Per column (and per period, unless the statistics are taken over all periods), the
    power of 2 that brings the largest of its values, goalposts and target (in absolute
    value) into [0.5, 1)."""
    method = params.get("method", "minmax")
    axis = (0, 1) if params.get("pooled", False) or method == "goalposts" else 1
    reach = np.max(np.where(np.isnan(x), 0.0, np.abs(x)), axis=axis, keepdims=True)
    if method == "goalposts":
        given = [abs(params[k]) for k in ("low", "high") if params.get(k) is not None]
        reach = np.maximum(reach, max(given, default=0.0))
    if method == "distance_to_target" and targets is not None:
        reach = np.maximum(reach, np.nan_to_num(np.abs(targets)))
    return near_one(reach)


def _normalise(
    x: np.ndarray, params: dict[str, Any], targets: np.ndarray | None, directions: np.ndarray
) -> np.ndarray:
    method = params.get("method", "minmax")
    axis = (0, 1) if params.get("pooled", False) else 1
    low, high = params.get("range", [0.0, 100.0])
    if method == "none":
        return x
    if method == "minmax":
        return _spread(x, _min(x, axis), _max(x, axis), low, high)
    if method == "distance_to_max":
        # COINr's formula; a column without spread goes to the middle (0.5) as in
        # minmax, instead of 0 / 0 = NaN
        lo, hi = _min(x, axis), _max(x, axis)
        span = np.where(hi > lo, hi - lo, 1.0)
        return np.where(hi > lo, 1 - (hi - x) / span, np.where(np.isnan(x), np.nan, 0.5))
    if method == "fraction_of_max":
        return x / _max(x, axis)
    if method == "zscore":
        return _zscore(x, axis, params.get("mean", 0.0), params.get("sd", 1.0))
    if method == "rank":
        return _ranks(x, axis)
    if method == "percentile_rank":
        # one value alone is a constant column: at the bottom, as ties are (not 0 / 0)
        count = np.sum(~np.isnan(x), axis=axis, keepdims=True)
        return (_ranks(x, axis) - 1) / np.maximum(count - 1, 1)
    if method == "distance_to_target":
        return _distance_to_target(x, axis, targets, directions)
    if method == "goalposts":
        lo = params.get("low")
        hi = params.get("high")
        # Goalposts not given are fixed from all periods together.
        lo = _min(x, (0, 1)) if lo is None else lo * directions
        hi = _max(x, (0, 1)) if hi is None else hi * directions
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
        return np.clip(_spread(x, lo, hi, 0.0, 1.0), 0.0, 1.0) * (high - low) + low
    raise ValueError(f"unknown normalisation {method!r}")


def _check_positive_max(x: np.ndarray, params: dict[str, Any]) -> None:
    """The maximum x / max divides by must be above 0 wherever a column has values."""
    axis = (0, 1) if params.get("pooled", False) else 1
    present = ~np.isnan(x)
    top = np.max(np.where(present, x, -np.inf), axis=axis, keepdims=True)
    # an all-missing column has no maximum (-inf here): it stays missing
    bad = np.argwhere((top <= 0) & np.any(present, axis=axis, keepdims=True))
    if bad.size:
        period, _, column = bad[0]
        value = float(top[tuple(bad[0])]) + 0.0  # + 0.0: -0.0 (a 0 flipped) reads 0
        reason = "is not defined" if value == 0 else "would reverse the order"
        raise NormalisationError(
            int(column),
            None if axis == (0, 1) else int(period),
            f"its maximum after the direction is {value:g}, and x / max {reason}: "
            "fraction_of_max needs a maximum above 0 (minmax or distance_to_max take any)",
        )


def _zscore(x: np.ndarray, axis, mean: float, sd: float) -> np.ndarray:
    centre = np.nanmean(x, axis=axis, keepdims=True)
    spread = np.nanstd(x, axis=axis, ddof=1, keepdims=True)
    # a column without spread is at the mean (not 0 / 0 = NaN), as minmax puts it in the
    # middle; spread is max > min, as the sd of equal values can round above 0
    flat = ~(_max(x, axis) > _min(x, axis))
    z = np.where(flat, 0.0, (x - centre) / np.where(flat, 1.0, spread))
    return np.where(np.isnan(x), np.nan, z) * sd + mean


def _distance_to_target(
    x: np.ndarray, axis, targets: np.ndarray | None, directions: np.ndarray
) -> np.ndarray:
    """(x - min) / (target - min), capped at 1. A target at or below the lowest value has
    been reached by every unit: all score 1 (the formula would divide by zero, or by a
    negative distance and reverse the order)."""
    if targets is None or np.isnan(targets).any():
        raise ValueError("distance_to_target needs a target for every indicator")
    target = targets * directions
    lo = _min(x, axis)
    reached = ~(target > lo)
    scaled = (x - lo) / np.where(reached, 1.0, target - lo)
    return np.where(np.isnan(x), np.nan, np.minimum(np.where(reached, 1.0, scaled), 1.0))


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
