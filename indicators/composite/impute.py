"""Impute missing values: mean, median, group mean or median, or (panels) the last
observation carried forward within a window of periods. Each indicator has its own method."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from indicators.composite.moments import near_one


def impute_column(
    column: np.ndarray, method: str, groups: np.ndarray | None, window: int
) -> np.ndarray:
    """column (P, U) -> the same with missing values filled where the method can.

    Means and medians are taken per period over the units (per group for the group methods).
    `locf` takes the latest earlier period within `window` periods that has a value.
    """
    if method == "none":
        return column
    if method == "locf":
        return _carry_forward(column, window)
    # a mean or median of values near 1e308 overflows: it is taken of each period scaled
    # near 1 (exactly, by a power of 2), and only the filled values are scaled back
    scale = near_one(np.max(np.where(np.isnan(column), 0.0, np.abs(column)), axis=1))[:, None]
    filled = _centres(column * scale, method, groups) / scale
    return np.where(np.isnan(column), filled, column)


def _carry_forward(column: np.ndarray, window: int) -> np.ndarray:
    out = column.copy()
    latest = np.full(column.shape[1], np.nan)
    age = np.full(column.shape[1], np.inf)
    for p in range(column.shape[0]):
        have = ~np.isnan(column[p])
        fill = ~have & (age + 1 <= window)
        out[p, fill] = latest[fill]
        latest = np.where(have, column[p], latest)
        age = np.where(have, 0, age + 1)
    return out


def _centres(column: np.ndarray, method: str, groups: np.ndarray | None) -> np.ndarray:
    out = column.copy()
    centre = np.nanmean if method.endswith("mean") else np.nanmedian
    if method.startswith("group_"):
        if groups is None:
            raise ValueError(f"{method} imputation needs a group column")
        # codes rather than the labels: comparing Python strings unit by unit, for every
        # indicator, cost more than the imputation itself
        codes, labels = pd.factorize(groups)  # a missing label: -1, in no group
        if method == "group_mean":
            return _fill_with_group_means(column, codes, len(labels))
        for code in range(len(labels)):
            _fill_with(out, codes == code, centre)
    else:
        _fill_with(out, np.ones(column.shape[1], dtype=bool), centre)
    return out


def _fill_with(out: np.ndarray, members: np.ndarray, centre) -> None:
    block = out[:, members]
    missing = np.isnan(block)
    if not missing.any():
        return
    with warnings.catch_warnings():
        # a period where a whole group is missing has no centre: it stays missing
        warnings.simplefilter("ignore", RuntimeWarning)
        centres = centre(block, axis=1)
    block = np.where(missing, centres[:, None], block)
    out[:, members] = block


def _fill_with_group_means(column: np.ndarray, codes: np.ndarray, groups: int) -> np.ndarray:
    """group_mean for every group and period at once: sums and counts by np.bincount on
    (period, group) keys, rather than a mask, a copy and a mean per group."""
    periods = column.shape[0]
    grouped = codes >= 0
    present = ~np.isnan(column) & grouped
    keys = (np.arange(periods)[:, None] * groups + codes)[present]
    sums = np.bincount(keys, weights=column[present], minlength=periods * groups)
    counts = np.bincount(keys, minlength=periods * groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        # a period where a whole group is missing has no mean: it stays missing
        means = (sums / counts).reshape(periods, groups)
    out = column.copy()
    period, unit = np.nonzero(np.isnan(column) & grouped)
    out[period, unit] = means[period, codes[unit]]
    return out
