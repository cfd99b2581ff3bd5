"""Tiers of cities by connectivity, named as GaWC names its classes (Alpha++ ... Sufficiency).

GaWC classifies cities by judgement on its connectivity results and publishes no cut points, so
citybench's classification is its own, stated here, and reproducible:

- "share" (default): by proportional connectivity, the share of the most connected city's
  connectivity. A city is in the highest tier whose lower bound its share reaches:

      Alpha++ 75%   Alpha+ 56%   Alpha 48%   Alpha- 40%
      Beta+   35%   Beta   30%   Beta- 25%
      Gamma+  20%   Gamma  16%   Gamma- 12%
      High sufficiency 8%   Sufficiency 5%

  Below 5% (and at 0) a city has no tier. The bounds are relative, so they read the same on a
  100-city regional matrix as on GaWC's 700 cities; on GaWC's 2020 results they put London and
  New York in Alpha++ and the next eight (Hong Kong to Sydney) in Alpha+. Any other bounds (and
  names) can be given.
- "jenks": Fisher's exact natural breaks (Fisher 1958; Jenks 1977) of the connectivities above
  0 into as many classes as there are tier names: the split that minimises the squared
  deviations within classes, the top class named first. It follows the data's own gaps, so
  tiers are not comparable across data sets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

GAWC_TIERS = (
    "Alpha++", "Alpha+", "Alpha", "Alpha-",
    "Beta+", "Beta", "Beta-",
    "Gamma+", "Gamma", "Gamma-",
    "High sufficiency", "Sufficiency",
)
# Lower bounds of GAWC_TIERS, as shares (0-1) of the highest connectivity.
SHARE_BOUNDS = (0.75, 0.56, 0.48, 0.40, 0.35, 0.30, 0.25, 0.20, 0.16, 0.12, 0.08, 0.05)
METHODS = ("share", "jenks")


def tiers_by_share(share, bounds: Sequence[float] = SHARE_BOUNDS,
                   names: Sequence[str] = GAWC_TIERS) -> pd.Series:
    """The tier of each share (0-1): the first name whose lower bound the share reaches; None
    below the last bound or at 0."""
    bounds = np.asarray(bounds, dtype=float)
    if len(bounds) != len(names):
        raise ValueError(f"{len(bounds)} bounds for {len(names)} tier names")
    if len(bounds) and (np.any(np.diff(bounds) >= 0) or bounds[-1] <= 0 or bounds[0] > 1):
        raise ValueError("tier bounds must fall strictly, from at most 1 to above 0")
    share = np.asarray(share, dtype=float)
    # bounds fall, so the number of bounds above a share is the position of its tier
    position = np.searchsorted(-bounds, -share, side="left")
    labels = np.array([*names, None], dtype=object)
    position = np.where(share > 0, position, len(names))
    return pd.Series(labels[position], dtype=object)


def tiers_by_jenks(values, names: Sequence[str] = GAWC_TIERS) -> pd.Series:
    """The tier of each value by natural breaks of the values above 0 (see the module)."""
    values = np.asarray(values, dtype=float)
    labels = np.full(len(values), None, dtype=object)
    positive = values > 0
    if not positive.any():
        return pd.Series(labels, dtype=object)
    distinct, counts = np.unique(values[positive], return_counts=True)
    lower = natural_breaks(distinct, len(names), counts)  # each class's lowest value, rising
    klass = np.searchsorted(lower, values[positive], side="right") - 1
    labels[positive] = np.asarray(names, dtype=object)[len(lower) - 1 - klass]
    return pd.Series(labels, dtype=object)


def classify(connectivity, method: str = "share", names: Sequence[str] = GAWC_TIERS,
             bounds: Sequence[float] = SHARE_BOUNDS) -> pd.Series:
    if method == "share":
        connectivity = np.asarray(connectivity, dtype=float)
        top = connectivity.max(initial=0.0)
        return tiers_by_share(connectivity / top if top > 0 else connectivity, bounds, names)
    if method == "jenks":
        return tiers_by_jenks(connectivity, names)
    raise ValueError(f"unknown tier method {method!r}; known: {', '.join(METHODS)}")


def natural_breaks(sorted_values, classes: int, weights=None) -> np.ndarray:
    """The lowest value of each class of Fisher's optimal partition of `sorted_values`
    (strictly rising) into at most `classes` contiguous classes, weighting each value by
    `weights` (how often it occurs).

    Dynamic programming over prefix sums; each layer by divide and conquer, which is exact
    because the best start of the last class never moves left as its end moves right (the
    within-class squared deviation of sorted data is a Monge cost): O(k n log n)."""
    x = np.asarray(sorted_values, dtype=float)
    n = len(x)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if n == 0:
        return x
    if np.any(np.diff(x) <= 0):
        raise ValueError("natural_breaks needs distinct values in rising order")
    k = max(1, min(classes, n))
    # The partition does not change with the scale, and on values scaled to at most 1 the
    # squares cannot overflow (1e200 squared is inf, inf - inf NaN, and no start would match).
    scaled = x / max(np.abs(x).max(), np.finfo(float).tiny)
    cw = np.concatenate([[0.0], np.cumsum(w)])
    c1 = np.concatenate([[0.0], np.cumsum(w * scaled)])
    c2 = np.concatenate([[0.0], np.cumsum(w * scaled * scaled)])

    def cost(starts: np.ndarray, end: int) -> np.ndarray:  # SSD of x[start:end] per start
        weight = cw[end] - cw[starts]
        total = c1[end] - c1[starts]
        return (c2[end] - c2[starts]) - total * total / weight

    best = np.zeros(n + 1)  # one class: x[0:end]
    best[1:] = c2[1:] - c1[1:] * c1[1:] / cw[1:]
    starts_of = np.zeros((k, n + 1), dtype=np.int64)
    for layer in range(1, k):
        current = np.full(n + 1, np.inf)
        # Divide and conquer, one recursion level at a time over all its intervals at once:
        # each interval (lo, hi) of class ends searches starts within (opt_lo, opt_hi).
        lo, hi = np.array([layer + 1]), np.array([n])
        opt_lo, opt_hi = np.array([layer]), np.array([n - 1])
        while len(lo):
            mid = (lo + hi) // 2
            last = np.minimum(mid - 1, opt_hi)
            length = last - opt_lo + 1
            segment = np.repeat(np.arange(len(mid)), length)
            offsets = np.concatenate([[0], np.cumsum(length)[:-1]])
            starts = opt_lo[segment] + np.arange(len(segment)) - offsets[segment]
            total = best[starts] + cost(starts, mid[segment])
            lowest = np.minimum.reduceat(total, offsets)
            hits = np.flatnonzero(total == lowest[segment])
            chosen = starts[hits[np.searchsorted(segment[hits], np.arange(len(mid)))]]
            current[mid], starts_of[layer][mid] = lowest, chosen
            lo, hi, opt_lo, opt_hi = (np.concatenate(pair) for pair in (
                (lo, mid + 1), (mid - 1, hi), (opt_lo, chosen), (chosen, opt_hi)))
            keep = lo <= hi
            lo, hi, opt_lo, opt_hi = lo[keep], hi[keep], opt_lo[keep], opt_hi[keep]
        best = current
    lower, end = [], n
    for layer in range(k - 1, 0, -1):
        start = int(starts_of[layer][end])
        lower.append(x[start])
        end = start
    lower.append(x[0])
    return np.asarray(lower[::-1])
