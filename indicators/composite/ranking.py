"""Ranks and percentiles, overall and within groups (country, continent, income group...):
the peer comparison a municipal user reads first."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def rank(values: np.ndarray, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """values (P, U, N) -> ranks and percentiles of the units along axis 1.

    Rank 1 = highest value (ties share the better rank). Percentile = the share of the other
    units of the group that score strictly below, in percent: the top unit is at 100, the
    bottom at 0, and a large tie at the bottom (every city that is not a capital) at 0 rather
    than near 100. A group of one is at 100. Missing values get neither.
    """
    if groups is None:
        return _rank(values)
    ranks = np.full(values.shape, np.nan)
    percentiles = np.full(values.shape, np.nan)
    labels = np.asarray(groups, dtype=object)
    known = ~_missing(labels)
    for label in set(labels[known].tolist()):
        members = labels == label
        ranks[:, members], percentiles[:, members] = _rank(values[:, members])
    # units without a group are ranked among themselves, like a group of their own
    if (~known).any():
        ranks[:, ~known], percentiles[:, ~known] = _rank(values[:, ~known])
    return ranks, percentiles


def _rank(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if values.shape[1] == 0:
        return values.copy(), values.copy()
    ranks = rankdata(-values, method="min", axis=1, nan_policy="omit")
    below = rankdata(values, method="min", axis=1, nan_policy="omit") - 1
    others = np.sum(~np.isnan(values), axis=1, keepdims=True) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        percentiles = np.where(others > 0, below / np.maximum(others, 1) * 100.0, 100.0)
    return ranks, np.where(np.isnan(values), np.nan, percentiles)


def _missing(labels: np.ndarray) -> np.ndarray:
    return np.array([v is None or v != v for v in labels], dtype=bool)
