"""Weights: as the framework gives them (with the method's overrides), equal, or derived from
principal components; and the effective weight each indicator ends up with in the index."""

from __future__ import annotations

import numpy as np

from indicators.composite.moments import near_one


def pca_weights(children: np.ndarray) -> np.ndarray:
    """The JRC/OECD Handbook's PCA weights: squared loadings of the first principal component
    of the children's correlation matrix, scaled to sum to 1. Units with a missing child are
    left out of the correlation."""
    rows = children.reshape(-1, children.shape[-1])
    rows = rows[~np.isnan(rows).any(axis=1)]
    if rows.shape[0] < 2:
        raise ValueError(f"needs 2 units or more with every child, has {rows.shape[0]}")
    if not (rows.max(axis=0) > rows.min(axis=0)).any():
        # the correlation matrix is not defined: the first component would be arbitrary
        raise ValueError("no child varies across the units")
    _, vectors = principal_components(rows)
    loadings = vectors[:, 0]
    return loadings**2 / np.sum(loadings**2)


def principal_components(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors of the correlation matrix of `rows`
    (units x variables), from the singular value decomposition of the standardised data as R's
    prcomp(scale = TRUE) does."""
    # each column scaled near 1 first (exactly; the correlations do not change): the
    # squares of values near 1e300 would overflow, and the SVD fail to converge on them
    rows = rows * near_one(np.max(np.abs(rows), axis=0, initial=0.0))
    sd = rows.std(axis=0, ddof=1)
    standard = (rows - rows.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    _, singular, vt = np.linalg.svd(standard, full_matrices=False)
    return singular**2 / (rows.shape[0] - 1), vt.T


def effective_weights(
    parents: dict[str, str | None], weights: dict[str, float]
) -> dict[str, float]:
    """Each node's share of the index: its weight among its siblings times its parent's
    effective weight (the index has 1)."""
    siblings: dict[str | None, float] = {}
    for node, parent in parents.items():
        siblings[parent] = siblings.get(parent, 0.0) + weights[node]
    effective: dict[str, float] = {}

    def share(node: str) -> float:
        if node not in effective:
            parent = parents[node]
            effective[node] = (
                1.0 if parent is None else weights[node] / siblings[parent] * share(parent)
            )
        return effective[node]

    for node in parents:
        share(node)
    return effective
