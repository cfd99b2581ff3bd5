"""Diagnostics of a composite (JRC/OECD Handbook, step 7; COINr's get_corr, get_cronbach,
get_PCA, get_stats): does each indicator move with the dimension it feeds, are the dimensions
internally consistent, how much of the variance does one component carry, and what share of
the index each indicator really has."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from indicators.composite.coin import Coin
from indicators.composite.moments import passes, skew_kurt
from indicators.composite.weights import principal_components


def correlations_with_ancestor(
    coin: Coin, levels_up: int = 1, pvalue: float | None = 0.05, period=None
) -> pd.DataFrame:
    """Pearson correlation of every node with its parent (levels_up=1), grandparent (2)...,
    over the units of the Aggregated set. Correlations not significant at `pvalue` are left
    missing, as COINr reports them: an insignificant correlation is no evidence either way."""
    frame = coin.frame("Aggregated", period)
    rows = []
    for node in frame.columns:
        ancestor = coin.framework.nodes[node].parent
        for _ in range(levels_up - 1):
            ancestor = coin.framework.nodes[ancestor].parent if ancestor else None
        if ancestor is None:
            continue
        pair = frame[[node, ancestor]].dropna()
        r, p = stats.pearsonr(pair[node], pair[ancestor])
        rows.append(
            {
                "node": node,
                "ancestor": ancestor,
                "correlation": float(r) if pvalue is None or p < pvalue else np.nan,
                "p_value": float(p),
            }
        )
    return pd.DataFrame(rows)


def cronbach_alpha(frame: pd.DataFrame) -> float:
    """k / (k - 1) * (1 - sum of item variances / variance of the sum), on complete rows."""
    items = frame.dropna()
    k = items.shape[1]
    return float(
        k / (k - 1) * (1 - items.var(ddof=1).sum() / items.sum(axis=1).var(ddof=1))
    )


def alpha_by_node(coin: Coin, period=None) -> pd.Series:
    """Cronbach's alpha of the normalised indicators under each node one level above them,
    and of all indicators together."""
    normalised = coin.frame("Normalised", period)
    parents = {coin.framework.nodes[i].parent for i in coin.panel.indicators}
    alphas = {
        parent: cronbach_alpha(normalised[coin.framework.children(parent)])
        for parent in sorted(parents, key=list(coin.framework.nodes).index)
    }
    alphas["all indicators"] = cronbach_alpha(normalised)
    return pd.Series(alphas, name="alpha")


def pca_by_node(coin: Coin, period=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per node one level above the indicators: the variance of each principal component of
    its indicators (correlation matrix) with the proportion explained, and the first
    component's loadings."""
    normalised = coin.frame("Normalised", period)
    variances, loadings = [], []
    parents = {coin.framework.nodes[i].parent for i in coin.panel.indicators}
    for parent in sorted(parents, key=list(coin.framework.nodes).index):
        children = coin.framework.children(parent)
        rows = normalised[children].dropna().to_numpy()
        values, vectors = principal_components(rows)
        for k, value in enumerate(values, start=1):
            variances.append(
                {"node": parent, "component": k, "variance": value,
                 "share": value / values.sum()}
            )
        for child, loading in zip(children, vectors[:, 0], strict=True):
            loadings.append({"node": parent, "indicator": child, "loading": loading})
    return pd.DataFrame(variances), pd.DataFrame(loadings)


def describe(frame: pd.DataFrame, skew_max: float = 2.0, kurt_max: float = 3.5) -> pd.DataFrame:
    """Per indicator: range, centre, spread, skewness and kurtosis (with the outlier test),
    availability, zeros, distinct values and the largest number of units sharing one value."""
    values = frame.to_numpy(dtype=float)
    skew, kurt = skew_kurt(values)
    rows = []
    for k, column in enumerate(frame.columns):
        x = values[:, k]
        present = x[~np.isnan(x)]
        counts = pd.Series(present).value_counts()
        rows.append(
            {
                "indicator": column,
                "min": present.min(), "max": present.max(), "mean": present.mean(),
                "median": np.median(present), "sd": present.std(ddof=1),
                "skew": skew[k], "kurtosis": kurt[k],
                "available": present.size, "nonzero": int(np.sum(present != 0)),
                "unique": counts.size, "same": int(counts.max()),
                "outliers": not bool(passes(skew[k], kurt[k], skew_max, kurt_max)),
            }
        )
    return pd.DataFrame(rows).set_index("indicator")


def effective_weights(coin: Coin) -> pd.Series:
    """Each node's share of the index through the tree: the product of its weight among its
    siblings and every ancestor's."""
    return pd.Series(coin.log[-1].details["effective_weights"], name="effective_weight")
