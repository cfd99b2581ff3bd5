"""Aggregate children into their parent: weighted arithmetic, geometric, harmonic or
generalised (power) mean, or the Copeland outranking count.

children is (..., U, k); weights are (k,), or (..., 1, k) for one set of weights per leading
row (the Monte Carlo's replications). A missing child is dropped and the remaining weights are
renormalised (COINr and the JRC do the same); a unit with no children at all stays missing.
"""

from __future__ import annotations

import numpy as np


class AggregationError(ValueError):
    pass


def aggregate(
    children: np.ndarray, weights: np.ndarray, method: str, power: float = 1.0
) -> np.ndarray:
    if method == "copeland":
        if weights.ndim == 1:
            return copeland(children, weights)
        # one set of weights per replication: each replication compared on its own
        rows = np.broadcast_to(children, weights.shape[:-2] + children.shape[-2:])
        return np.stack(
            [copeland(c[None], w.reshape(-1))[0] for c, w in zip(rows, weights, strict=True)]
        )
    present = ~np.isnan(children)
    filled = np.where(present, children, 0.0)
    total = _dot(present, weights)
    needs_positive = method in ("geometric", "harmonic") or (
        method == "generalised" and power <= 0
    )
    if needs_positive and (filled[present] <= 0).any():
        raise AggregationError(
            f"{method} mean needs values above 0: normalise to a positive range, "
            "e.g. range = [1, 100]"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "arithmetic" or (method == "generalised" and power == 1):
            out = _dot(filled, weights) / total
        elif method == "geometric" or (method == "generalised" and power == 0):
            logs = np.where(present, np.log(np.where(present, children, 1.0)), 0.0)
            out = np.exp(_dot(logs, weights) / total)
        elif method == "harmonic":
            inverse = np.where(present, 1.0 / np.where(present, children, 1.0), 0.0)
            out = total / _dot(inverse, weights)
        elif method == "generalised":
            powered = np.where(present, np.where(present, children, 1.0) ** power, 0.0)
            out = (_dot(powered, weights) / total) ** (1.0 / power)
        else:
            raise AggregationError(f"unknown aggregation {method!r}")
    return np.where(total > 0, out, np.nan)


def _dot(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    if weights.ndim == 1:
        return x @ weights
    return np.einsum("...k,...k->...", x, weights)


def copeland(children: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each pair of units, a outranks b when the children on which a is ahead weigh more
    than those on which b is (a tie, or a missing comparison, weighs for neither): this is
    the weighted share of wins > 1/2 of COINr and the Handbook, computed as a signed sum so
    that an exact tie (24.5 of 49) is not decided by rounding. A unit's score is the number of
    units it outranks minus the number that outrank it."""
    periods, units, k = children.shape
    # pairs are compared a block of rows at a time, to bound memory at about 100 MB
    chunk = max(1, int(1.2e7 // max(1, units * k)))
    tolerance = 1e-12 * weights.sum()
    out = np.full((periods, units), np.nan)
    for p in range(periods):
        x = children[p]
        scored = ~np.isnan(x).all(axis=1)
        for start in range(0, units, chunk):
            ahead = np.nan_to_num(np.sign(x[start : start + chunk, None, :] - x[None, :, :]))
            margin = ahead @ weights
            margin = np.where(np.abs(margin) <= tolerance, 0.0, margin)[:, scored]
            out[p, start : start + chunk] = np.sign(margin).sum(axis=1)
        out[p, ~scored] = np.nan
    return out
