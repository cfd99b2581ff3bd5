"""Score cities on a one-level index: normalise each indicator, aggregate, rank in scopes."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from indicators.composite import arithmetic_mean, minmax, ranks_in_scopes

NORMALISERS = {"minmax": minmax}
AGGREGATORS = {"arithmetic": arithmetic_mean}


def score_index(
    data: pd.DataFrame,
    *,
    index_id: str,
    directions: Mapping[str, int],
    weights: Mapping[str, float],
    groups: Mapping[str, pd.Series],
    normalise: str = "minmax",
    aggregate: str = "arithmetic",
) -> pd.DataFrame:
    """Long frame, one row per city and node (each indicator and the index), with value,
    normalised value and rank/percentile overall and within each group (suffix = group name).

    `data` is wide (cities x indicators, raw values); `groups` maps a name such as "country" to
    a Series of group labels indexed like `data`.
    """
    if normalise not in NORMALISERS:
        raise ValueError(f"unknown normalisation {normalise!r}; known: {', '.join(NORMALISERS)}")
    if aggregate not in AGGREGATORS:
        raise ValueError(f"unknown aggregation {aggregate!r}; known: {', '.join(AGGREGATORS)}")
    columns = list(weights)
    normalised = NORMALISERS[normalise](data[columns], directions)
    index = AGGREGATORS[aggregate](normalised, weights)
    scopes = {"": None} | {f"_{name}": labels for name, labels in groups.items()}

    nodes = []
    for column in columns:
        # An indicator is ranked on its normalised value, so "rank 1" always means best.
        ranked = ranks_in_scopes(normalised[column], scopes)
        nodes.append(
            ranked.assign(
                node_id=column,
                node_kind="indicator",
                value=data[column].astype(float),
                normalised=normalised[column],
            )
        )
    nodes.append(
        ranks_in_scopes(index, scopes).assign(
            node_id=index_id, node_kind="index", value=index, normalised=index
        )
    )
    long = pd.concat(nodes)
    long.index.name = data.index.name or "city_id"
    return long.reset_index()
