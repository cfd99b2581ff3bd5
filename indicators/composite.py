"""A first composite: min-max normalisation, weighted arithmetic mean, ranks overall and in groups.

Frames are wide: one row per city, one column per indicator.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def minmax(
    data: pd.DataFrame, directions: Mapping[str, int], low: float = 0.0, high: float = 1.0
) -> pd.DataFrame:
    """Rescale each column to [low, high], the best value at `high` whatever the direction.

    A column with a single distinct value carries no information to compare on; it maps to the
    middle of the range rather than to a division by zero.
    """
    out = {}
    for column in data.columns:
        values = data[column].astype(float)
        if directions[column] < 0:
            values = -values
        lo, hi = values.min(), values.max()
        if hi > lo:
            out[column] = low + (values - lo) / (hi - lo) * (high - low)
        else:
            out[column] = values.where(values.isna(), (low + high) / 2)
    return pd.DataFrame(out, index=data.index)


def arithmetic_mean(
    normalised: pd.DataFrame, weights: Mapping[str, float] | None = None
) -> pd.Series:
    """Weighted arithmetic mean across columns; a city missing any indicator gets no score
    (imputation is a separate, explicit step)."""
    w = pd.Series(weights if weights is not None else 1.0, index=normalised.columns, dtype=float)
    if w.isna().any():
        raise ValueError(f"no weight for {', '.join(w.index[w.isna()])}")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    w = w / w.sum()
    return (
        normalised.mul(w, axis=1)
        .sum(axis=1, min_count=len(w))
        .where(normalised.notna().all(axis=1))
    )


def rank(values: pd.Series, groups: pd.Series | None = None) -> pd.DataFrame:
    """Rank 1 = highest value (ties share the better rank), and percentile = the share of the
    other cities of the group that score strictly below, in percent: the top city is at 100,
    the bottom at 0, and a large tie at the bottom (every city that is not a capital) at 0
    rather than near 100. A group of one is at 100. Missing values get neither."""
    if groups is not None:
        grouped = values.groupby(groups, dropna=False)
        others = grouped.transform("count") - 1
    else:
        grouped = values
        others = pd.Series(values.count() - 1, index=values.index, dtype=float)
    ranks = grouped.rank(ascending=False, method="min")
    below = grouped.rank(ascending=True, method="min") - 1
    percentiles = (below / others.where(others > 0) * 100.0).where(others > 0, 100.0)
    return (
        pd.DataFrame(
            {"rank": ranks.astype("Int64"), "percentile": percentiles.astype(float)},
            index=values.index,
        )
        .where(values.notna(), other=pd.NA)
        .astype({"rank": "Int64", "percentile": "Float64"})
    )


def ranks_in_scopes(values: pd.Series, scopes: Mapping[str, pd.Series | None]) -> pd.DataFrame:
    """rank/percentile columns for each scope: {"": None, "_country": country, ...}."""
    parts = []
    for suffix, groups in scopes.items():
        part = rank(values, groups)
        parts.append(part.add_suffix(suffix))
    return pd.concat(parts, axis=1)

