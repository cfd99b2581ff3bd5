"""Aggregate children into their parent: weighted arithmetic, geometric, harmonic or
generalised (power) mean, or the Copeland outranking count.

children is (..., U, k); weights are (k,), or (..., 1, k) for one set of weights per leading
row (the Monte Carlo's replications). A missing child is dropped and the remaining weights are
renormalised (COINr and the JRC do the same); a unit with no children at all stays missing.
"""

from __future__ import annotations

import numpy as np


class AggregationError(ValueError):
    """`unit`: the position (last axis of the scores) of the unit concerned, if one is, for
    the caller to name."""

    def __init__(self, message: str, unit: int | None = None) -> None:
        super().__init__(message)
        self.unit = unit


def aggregate(
    children: np.ndarray,
    weights: np.ndarray,
    method: str,
    power: float = 1.0,
    ties: str = "exact",
) -> np.ndarray:
    """`ties` is Copeland's rule for a pair that splits its weights evenly (see copeland)."""
    if method == "copeland":
        if weights.ndim == 1:
            return copeland(children, weights, ties)
        # one set of weights per replication: each replication compared on its own
        rows = np.broadcast_to(children, weights.shape[:-2] + children.shape[-2:])
        return np.stack(
            [
                copeland(c[None], w.reshape(-1), ties)[0]
                for c, w in zip(rows, weights, strict=True)
            ]
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
    # an overflow or an undefined power gives inf or NaN: refused below
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
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
    scored = total > 0
    _check_finite(out, scored, children)
    return np.where(scored, out, np.nan)


def _check_finite(out: np.ndarray, scored: np.ndarray, children: np.ndarray) -> None:
    """A unit with a child to weigh gets a finite score: a mean overflows (values near 1e308,
    or near 0 to a negative power) or is not defined (an odd or fractional power of a
    negative mean) here, and is refused rather than left infinite or missing."""
    bad = scored & ~np.isfinite(out)
    if not bad.any():
        return
    at = tuple(np.argwhere(bad)[0])
    values = np.broadcast_to(children, (*out.shape, children.shape[-1]))[at]
    span = f"children from {np.nanmin(values):.3g} to {np.nanmax(values):.3g}"
    what = (
        f"an infinite value: it overflows with {span}" if np.isinf(out[at])
        else f"no number (NaN): it is not defined with {span}"
    )
    raise AggregationError(f"gives {what}: normalise to a range such as [1, 100]", at[-1])


def _dot(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    if weights.ndim == 1:
        return x @ weights
    return np.einsum("...k,...k->...", x, weights)


def copeland(children: np.ndarray, weights: np.ndarray, ties: str = "exact") -> np.ndarray:
    """For each pair of units, a outranks b when the children on which a is ahead weigh more
    than those on which b is (a tie, or a missing comparison, weighs for neither). A unit's
    score is the number of units it outranks minus the number that outrank it; a unit with
    no child at all has no score and is no one's opponent.

    ties = "exact": the weighted share of wins (ties counting half) > 1/2 of the Handbook,
    computed as a signed sum, so that an exact tie (24.5 of 49) is a tie, whatever the
    rounding of 49 weights of 1/49.

    ties = "coinr": COINr's a_copeland, rounding included: the share of the weights (scaled
    to sum to 1 over all children) where a is ahead, plus half the share where a and b are
    equal, summed as R sums (in long double, then rounded to double), compared with 0.5.
    Only the share of the pair's first unit (units in the order given: sorted by name, as
    COINr sorts them) is computed; the other unit gets 1 minus it, so a missing comparison
    counts for the later unit, and a share a rounding below 0.5 loses the pair for the first
    unit while 1 minus it rounds to 0.5, a tie, for the second."""
    periods, units = children.shape[:2]
    out = np.full((periods, units), np.nan)
    for p in range(periods):
        x = children[p]
        scored = ~np.isnan(x).all(axis=1)
        if ties == "coinr":
            out[p, scored] = _coinr_scores(x[scored], weights)
        else:
            out[p, scored] = _exact_scores(x[scored], weights)
    return out


def _rows_at_once(units: int, k: int) -> int:
    # pairs are compared a block of rows at a time, to bound memory at about 100 MB
    return max(1, int(1.2e7 // max(1, units * k)))


def _exact_scores(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    units, k = x.shape
    tolerance = 1e-12 * weights.sum()
    out = np.empty(units)
    step = _rows_at_once(units, k)
    for start in range(0, units, step):
        # +1 ahead, -1 behind, 0 equal or not comparable (NaN); 1.7e308 - (-1.7e308)
        # overflows to inf, whose sign is still right
        with np.errstate(over="ignore"):
            difference = x[start : start + step, None, :] - x[None, :, :]
        margin = np.nan_to_num(np.sign(difference)) @ weights
        margin = np.where(np.abs(margin) <= tolerance, 0.0, margin)
        out[start : start + step] = np.sign(margin).sum(axis=1)
    return out


def _coinr_scores(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    units, k = x.shape
    # R: w / sum(w); sum() accumulates in long double and returns a double
    w = weights / float(np.sum(weights.astype(np.longdouble)))
    out = np.empty(units)
    step = _rows_at_once(units, k)
    for start in range(0, units, step):
        a, b = x[start : start + step, None, :], x[None, :, :]
        wins = _r_sum(a > b, w)  # a's share where a is ahead...
        losses = _r_sum(a < b, w)  # ...and b's, where b is
        half = _r_sum(a == b, w) / 2  # the same set of children, summed alike, either way
        first = np.arange(start, start + len(wins))[:, None] < np.arange(units)[None, :]
        # COINr computes the upper triangle of its matrix and sets the lower to 1 - upper
        share = np.where(first, wins + half, 1 - (losses + half))
        diagonal = np.arange(share.shape[0]), np.arange(start, start + share.shape[0])
        share[diagonal] = 0.5
        out[start : start + step] = (share > 0.5).sum(axis=1) - (share < 0.5).sum(axis=1)
    return out


def _r_sum(selected: np.ndarray, w: np.ndarray) -> np.ndarray:
    """R's sum(w[selected]) along the last axis: added one by one in long double, in the
    children's order, then rounded to double (adding 0 leaves the sum exactly as it was)."""
    total = np.zeros(selected.shape[:-1], dtype=np.longdouble)
    for j in range(selected.shape[-1]):
        total += np.where(selected[..., j], np.longdouble(w[j]), np.longdouble(0))
    return total.astype(float)
