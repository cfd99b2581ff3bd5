"""What a composite says about each unit: scores and ranks of every node, overall and within
groups; one unit's summary with its strongest and weakest indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.composite.coin import Coin
from indicators.composite.data import SINGLE_PERIOD
from indicators.composite.ranking import rank


def node_ranks(coin: Coin, group: str | None = None) -> np.ndarray:
    """(P, U, nodes) ranks of the Aggregated set, overall or within `group`; units the screen
    left out have none."""
    values = _scored(coin)
    labels = coin.panel.groups[group].to_numpy(dtype=object) if group else None
    return rank(values, labels)[0]


def _scored(coin: Coin) -> np.ndarray:
    values = coin.scores()
    if coin.included is not None:
        values = np.where(coin.included[..., None], values, np.nan)
    return values


def scores_long(coin: Coin, groups: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per period, unit kept by the screen, and node: value (the raw value of an
    indicator, the score of an aggregate), normalised (the normalised indicator, or the
    score), rank and percentile, then rank_<group> and percentile_<group> for each group."""
    values = _scored(coin)
    nodes = coin.columns["Aggregated"]
    periods, units = coin.periods, coin.units
    index = pd.MultiIndex.from_product([periods, units, nodes], names=["period", "unit", "node"])
    raw = np.full(values.shape, np.nan)
    raw[..., : len(coin.panel.indicators)] = coin.panel.values
    raw[..., len(coin.panel.indicators) :] = values[..., len(coin.panel.indicators) :]
    columns = {"value": raw, "normalised": values}
    for suffix, labels in [("", None)] + [(f"_{g}", g) for g in groups]:
        group = coin.panel.groups[labels].to_numpy(dtype=object) if labels else None
        ranks, percentiles = rank(values, group)
        columns[f"rank{suffix}"] = ranks
        columns[f"percentile{suffix}"] = percentiles
    frame = pd.DataFrame({k: v.reshape(-1) for k, v in columns.items()}, index=index)
    kinds = {
        n: ("index" if coin.framework.nodes[n].parent is None else
            "indicator" if coin.framework.nodes[n].kind == "indicator" else "dimension")
        for n in nodes
    }
    kept = np.ones(values.shape, dtype=bool)
    if coin.included is not None:
        kept &= coin.included[..., None]
    frame = frame[kept.reshape(-1)].reset_index()
    frame.insert(3, "kind", frame["node"].map(kinds))
    for column in frame.columns:
        if column.startswith("rank"):
            frame[column] = frame[column].astype("Int64")
    if periods == [SINGLE_PERIOD]:
        frame = frame.drop(columns="period")
    return frame.reset_index(drop=True)


def unit_summary(coin: Coin, unit: str, period=None) -> pd.DataFrame:
    """The unit's score and rank on every aggregate, the index first."""
    p = coin._period(period)
    u = coin.units.index(unit)
    ranks = node_ranks(coin)[p, u]
    nodes = coin.columns["Aggregated"]
    rows = [
        {"node": n, "name": coin.framework.nodes[n].name, "score": coin.scores()[p, u, k],
         "rank": ranks[k]}
        for k, n in enumerate(nodes)
        if coin.framework.nodes[n].kind != "indicator"
    ]
    return pd.DataFrame(rows[::-1]).astype({"rank": "Int64"})


def strengths_and_weaknesses(
    coin: Coin,
    unit: str,
    count: int = 5,
    period=None,
    dataset: str = "Raw",
    min_unique: float = 0.2,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The unit's `count` best-ranked indicators and its `count` worst: where a city leads,
    and where it could learn from its peers (COINr's get_str_wk).

    Ranks are on the `dataset`'s values in each indicator's direction. Indicators with fewer
    distinct values than `min_unique` of the units say little and are left out, and so is a
    weakness where the unit only shares the bottom rank with others (a zero most cities have).
    """
    p = coin._period(period)
    u = coin.units.index(unit)
    indicators = coin.panel.indicators
    values = coin.sets[dataset][p, :, : len(indicators)]
    if coin.included is not None:
        values = np.where(coin.included[p][:, None], values, np.nan)
    directions = np.array([coin.framework.nodes[i].direction for i in indicators])
    ranks = rank((values * directions)[None])[0][0]
    present = ~np.isnan(values)
    unique = np.array([np.unique(values[present[:, k], k]).size for k in range(len(indicators))])
    frame = pd.DataFrame(
        {
            "indicator": indicators,
            "name": [coin.framework.nodes[i].name for i in indicators],
            "parent": [coin.framework.nodes[i].parent for i in indicators],
            "rank": ranks[u],
            "value": values[u],
            "unit": [coin.framework.nodes[i].unit for i in indicators],
        }
    )
    informative = unique >= min_unique * present.sum(axis=0)
    frame = frame[informative & ~np.isnan(ranks[u])].astype({"rank": "Int64"})
    at_bottom = frame["rank"].to_numpy() == np.nanmax(ranks, axis=0)[frame.index]
    ordered = frame.sort_values("rank", kind="stable")
    weak = frame[~at_bottom].sort_values("rank", kind="stable")
    return ordered.head(count).reset_index(drop=True), weak.tail(count).reset_index(drop=True)
