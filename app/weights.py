"""Your own weights on the Rankings page: the named perspectives, the weights as the address
carries them, and the index recomputed with them by the composite engine.

Weights are relative (an arithmetic, geometric or Copeland aggregation divides by their sum),
so they are shown scaled to a largest weight of 1: the framework's 2 / 0.5 / 1 is 1 / 0.25 / 0.5
on the sliders, and gives the same index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from indicators.composite.reweight import TopLevel, ranks, recompute

Weights = dict[str, float]

BALANCED = "Balanced"
EQUAL = "Equal weights"
CUSTOM = "Custom"
_REASONS = {
    BALANCED: "The framework's own weights, each stated with its reason in the framework file.",
    EQUAL: "Every dimension counts the same: for readers who would not take the framework's "
           "judgement of what matters more.",
}
# Named perspectives, as Mori's Global Power City Index ranks cities for the actors who use
# them. Per framework, by dimension id; dimensions a run left out are dropped (and a
# perspective with no weight left on a scored dimension is not offered). Only ratios matter.
PERSPECTIVES: dict[str, dict[str, tuple[Weights, str]]] = {
    "world_connectivity": {
        "Air hub": (
            {"air": 1, "firms": 0.5, "demography": 0.25, "twinning": 0.1, "networks": 0.1},
            "For airports, airlines and tourism boards: how far one flight takes you leads; "
            "firms follow, as business travel fills routes."),
        "Twinning and networks": (
            {"twinning": 1, "networks": 1, "air": 0.25, "firms": 0.25, "demography": 0.25},
            "For international-relations offices: the partnerships a city chose to sign and "
            "the networks it chose to join lead, not its size or its airport."),
        "Size and growth": (
            {"demography": 1, "air": 0.5, "firms": 0.5, "twinning": 0.1, "networks": 0.1},
            "For investors and planners: where people and markets are, and are growing."),
    },
}
# A slider's step; the URL keeps a weight to this many decimals.
STEP = 0.05
_DECIMALS = 4


def scaled(weights: Mapping[str, float]) -> Weights:
    """The weights over their largest (all 0 stay 0)."""
    largest = max(weights.values(), default=0.0)
    return {c: (w / largest if largest > 0 else 0.0) for c, w in weights.items()}


def offered(framework: str, top: TopLevel) -> dict[str, tuple[Weights, str]]:
    """The perspectives this run can offer, Balanced first: name -> (weights on the run's
    components, scaled; the reason)."""
    out = {BALANCED: (scaled(top.weights), _REASONS[BALANCED])}
    if len(set(top.weights.values())) > 1:
        out[EQUAL] = (dict.fromkeys(top.components, 1.0), _REASONS[EQUAL])
    for name, (weights, reason) in PERSPECTIVES.get(framework, {}).items():
        kept = {c: float(weights.get(c, 0.0)) for c in top.components}
        if any(kept.values()):
            out[name] = (scaled(kept), reason)
    return out


def same(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """Whether two sets of weights rank alike: equal once scaled (to a rounding)."""
    a, b = scaled(a), scaled(b)
    return a.keys() == b.keys() and all(abs(a[c] - b[c]) < 1e-9 for c in a)


def matching(weights: Mapping[str, float], choices: Mapping[str, tuple[Weights, str]]) -> str:
    """The first perspective these weights are, else CUSTOM."""
    return next((name for name, (w, _) in choices.items() if same(weights, w)), CUSTOM)


def parse(text: str, components: tuple[str, ...]) -> Weights:
    """`air:1,twinning:0.25` -> {"air": 1.0, "twinning": 0.25, (others) 0.0}. A ValueError says
    what is wrong: an unknown or repeated dimension, a weight that is not a number from 0 to 1,
    or every weight 0."""
    weights: Weights = {}
    for part in text.split(","):
        component, colon, number = part.partition(":")
        component = component.strip()
        if component not in components:
            raise ValueError(f"no dimension {component[:30]!r} in this index "
                             f"(it has {', '.join(components)})")
        if component in weights:
            raise ValueError(f"{component} is given twice")
        try:
            weight = float(number) if colon else math.nan
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight) or not 0 <= weight <= 1:
            raise ValueError(f"the weight of {component} is not a number from 0 to 1")
        weights[component] = weight
    if not any(weights.values()):
        raise ValueError("every weight is 0")
    return {c: weights.get(c, 0.0) for c in components}


def as_text(weights: Mapping[str, float]) -> str:
    return ",".join(f"{c}:{round(w, _DECIMALS):g}" for c, w in weights.items())


def reranked(frame: pd.DataFrame, top: TopLevel, weights: Mapping[str, float]) -> pd.DataFrame:
    """Each city's index with these weights, recomputed from its stored components as the run
    aggregated them, and its rank and percentile among all cities (frame's index)."""
    components = frame[[f"normalised:{c}" for c in top.components]].to_numpy(dtype=float)
    score = recompute(top, components, [weights[c] for c in top.components])
    rank, percentile = ranks(score)
    return pd.DataFrame({"score": score, "rank": rank, "percentile": percentile},
                        index=frame.index)


def shares(weights: Mapping[str, float]) -> Weights:
    """Each weight's share of their sum, the part of the index it makes."""
    total = float(np.sum(list(weights.values())))
    return {c: (w / total if total > 0 else 0.0) for c, w in weights.items()}
