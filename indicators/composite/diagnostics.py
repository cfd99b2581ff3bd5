"""Diagnostics of a composite (JRC/OECD Handbook, step 7; COINr's get_corr, get_cronbach,
get_PCA, get_stats): does each indicator move with the dimension it feeds, are the dimensions
internally consistent, how much of the variance does one component carry, and what share of
the index each indicator really has."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from indicators.composite.coin import Coin
from indicators.composite.moments import near_one, passes, skew_kurt
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
        r, p = _pearson(pair[node].to_numpy(), pair[ancestor].to_numpy())
        rows.append(
            {
                "node": node,
                "ancestor": ancestor,
                "correlation": float(r) if pvalue is None or p < pvalue else np.nan,
                "p_value": float(p),
            }
        )
    return pd.DataFrame(rows)


def _pearson(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Pearson's r and its p-value; both NaN where not defined (fewer than 3 pairs, or a
    constant), rather than scipy's warning or error: a dimension of one indicator, or an
    indicator every unit shares, has no correlation to report."""
    if len(x) < 3 or not (x.max() > x.min() and y.max() > y.min()):
        return np.nan, np.nan
    # scaled near 1 (exactly; r does not change): squares of values near 1e300 overflow
    r, p = stats.pearsonr(x * near_one(np.max(np.abs(x))), y * near_one(np.max(np.abs(y))))
    return float(r), float(p)


def cronbach_alpha(frame: pd.DataFrame) -> float:
    """k / (k - 1) * (1 - sum of item variances / variance of the sum), on complete rows;
    NaN where not defined (one item, fewer than 2 complete rows, a constant sum)."""
    items = frame.dropna()
    # all items scaled alike near 1 (exactly; alpha does not change): variances of values
    # near 1e300 overflow
    items = items * near_one(np.max(np.abs(items.to_numpy()), initial=0.0))
    k = items.shape[1]
    total = items.sum(axis=1).var(ddof=1) if len(items) >= 2 else np.nan
    if k < 2 or not total > 0:
        return np.nan
    return float(k / (k - 1) * (1 - items.var(ddof=1).sum() / total))


def alpha_by_node(coin: Coin, period=None) -> pd.Series:
    """Cronbach's alpha of the normalised indicators under each node one level above them,
    and of all indicators together."""
    normalised = coin.frame("Normalised", period)
    parents = {coin.framework.nodes[i].parent for i in coin.panel.indicators}
    alphas = {
        parent: cronbach_alpha(normalised[_indicators_under(coin, parent)])
        for parent in sorted(parents, key=list(coin.framework.nodes).index)
    }
    alphas["all indicators"] = cronbach_alpha(normalised)
    return pd.Series(alphas, name="alpha")


def _indicators_under(coin: Coin, parent: str) -> list[str]:
    """The indicators among a node's children (in an uneven tree a node may also have
    aggregates as children, which have no normalised values)."""
    return [c for c in coin.framework.children(parent) if c in coin.panel.indicators]


def pca_by_node(coin: Coin, period=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per node one level above the indicators: the variance of each principal component of
    its indicators (correlation matrix) with the proportion explained, and the first
    component's loadings."""
    normalised = coin.frame("Normalised", period)
    variances, loadings = [], []
    parents = {coin.framework.nodes[i].parent for i in coin.panel.indicators}
    for parent in sorted(parents, key=list(coin.framework.nodes).index):
        children = _indicators_under(coin, parent)
        rows = normalised[children].dropna().to_numpy()
        if len(rows) < 2:
            continue  # no variance to decompose: the node has no rows here
        values, vectors = principal_components(rows)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = values / values.sum()  # all children constant: 0 / 0, left missing
        for k, value in enumerate(values, start=1):
            variances.append(
                {"node": parent, "component": k, "variance": value, "share": shares[k - 1]}
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
        if present.size == 0:
            rows.append({"indicator": column, "available": 0, "nonzero": 0, "unique": 0,
                         "same": 0, "outliers": False})
            continue
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
