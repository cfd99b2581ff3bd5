"""Ranks and percentiles, overall and within groups (country, continent, income group...):
the peer comparison a municipal user reads first."""

from __future__ import annotations

import numpy as np


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
    ranks = np.full(values.shape, np.nan)
    percentiles = np.full(values.shape, np.nan)
    for p in range(values.shape[0]):  # a period at a time: bounded memory, rows in cache
        x = np.ascontiguousarray(values[p].T)  # (N, U): each row one node's units
        if x.shape[1] == 0:
            continue
        below, above, others = _neighbours(x)
        present = ~np.isnan(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            percent = np.where(others > 0, below / np.maximum(others, 1) * 100.0, 100.0)
        ranks[p] = np.where(present, above + 1.0, np.nan).T
        percentiles[p] = np.where(present, percent, np.nan).T
    return ranks, percentiles


def _neighbours(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (rows, U) -> for each value, how many values of its row are strictly below it and
    how many strictly above (missing values count for neither), and each row's count of
    values minus one. One sort gives both: a value's run of ties in the sorted row starts
    after the values below and ends before those above. (scipy's rankdata, once ascending
    and once descending, sorted twice and took 2.5x as long.)"""
    rows, size = x.shape
    order = np.argsort(x, axis=1)  # missing values sort last
    ordered = np.take_along_axis(x, order, axis=1)
    position = np.broadcast_to(np.arange(size), x.shape)
    edge = np.ones((rows, 1), dtype=bool)
    changes = ordered[:, 1:] != ordered[:, :-1]
    first = np.where(np.hstack([edge, changes]), position, 0)
    np.maximum.accumulate(first, axis=1, out=first)
    last = np.where(np.hstack([changes, edge]), position, size)
    last = np.minimum.accumulate(last[:, ::-1], axis=1)[:, ::-1]
    others = np.sum(~np.isnan(x), axis=1, keepdims=True) - 1
    below, above = np.empty(x.shape), np.empty(x.shape)
    np.put_along_axis(below, order, first, axis=1)
    np.put_along_axis(above, order, others - last, axis=1)
    return below, above, others


def _missing(labels: np.ndarray) -> np.ndarray:
    return np.array([v is None or v != v for v in labels], dtype=bool)
