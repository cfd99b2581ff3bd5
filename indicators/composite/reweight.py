"""An index recomputed from its stored components with other weights: the user's own weights of
a published ranking (as the JRC's Cultural and Creative Cities Monitor and Mori's GPCI offer).

Only the top level is recomputed: the components (dimensions, or the indicators of a framework
without dimensions) keep the values the run gave them, and the index is aggregated from them as
the run aggregated it (the method file's aggregation, power, ties and min_availability at the
index's level). With the run's own weights it gives back the run's index.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from indicators.composite.aggregate import aggregate
from indicators.composite.build import _weights
from indicators.composite.ranking import rank
from indicators.composite.spec import Framework, Method


@dataclass(frozen=True)
class TopLevel:
    """How a run made its index from its components. `components` are the index's children
    that entered the run, in the framework's order; `weights` those the run gave them."""

    index: str
    components: tuple[str, ...]
    weights: dict[str, float]
    method: str
    power: float
    min_availability: float
    ties: str


def top_level(framework: Framework, method: Method, scored: Collection[str],
              values: dict[str, np.ndarray] | None = None) -> TopLevel:
    """The index's aggregation in a run that scored the components `scored` (the others were
    left out for every unit). `values` (each component's scores) is needed only by PCA weights."""
    index = next(n.id for n in framework.nodes.values() if n.kind == "index")
    components = tuple(c for c in framework.children(index) if c in set(scored))
    level = framework.levels[index]
    own = {c: framework.nodes[c].weight for c in components}
    weights = _weights(method, level - 1, index, list(components), own, values or {})
    params = {"method": "arithmetic", "power": 1.0, "min_availability": 0.0,
              "copeland_ties": "exact"} | method.for_level("aggregate", level)
    return TopLevel(index, components, {c: float(weights[c]) for c in components},
                    params["method"], float(params["power"]), float(params["min_availability"]),
                    params["copeland_ties"])


def recompute(top: TopLevel, components: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """The index of each unit, (U,), from its components' values (U, k; NaN where missing) with
    one weight per component (k,), as the engine aggregates: a unit with too few components
    (min_availability) or none weighted above 0 gets NaN."""
    children = np.asarray(components, dtype=float)
    score = aggregate(children[None], np.asarray(weights, dtype=float), top.method,
                      top.power, top.ties)[0]
    if top.min_availability > 0:
        enough = np.mean(~np.isnan(children), axis=-1) >= top.min_availability
        score = np.where(enough, score, np.nan)
    return score


def ranks(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks (1 = highest, ties share the better rank) and percentiles of (U,) scores, as the
    engine ranks them; NaN where a unit has no score."""
    rank_of, percentile = rank(np.asarray(scores, dtype=float)[None, :, None])
    return rank_of[0, :, 0], percentile[0, :, 0]
