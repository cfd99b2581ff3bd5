"""Taylor's interlocking network model of the world city network.

Taylor (2001), "Specification of the world city network", Geographical Analysis 33(2); Taylor
(2004), World City Network. A service-value matrix V holds, for each city a and organisation j
(a firm, for GaWC), v_aj >= 0: how much of j's work is done in a (0-5 on GaWC's scale).

- elemental interlock  r_abj = v_aj * v_bj
- city-dyad connectivity  r_ab = sum_j r_abj          (the matrix V V^T off its diagonal)
- global network connectivity  GNC_a = sum_{b != a} r_ab
- proportional connectivity: GNC_a as a share of the highest GNC

GNC never needs the n x n dyad matrix: sum_{b != a} v_aj v_bj = v_aj (T_j - v_aj), with T_j the
organisation's column total, so GNC = V T - (V o V) 1 costs one pass over the non-zeros.
Dyads do need products of rows; they are taken from V V^T a block of rows at a time, each block
sized so that the number of products it holds stays under a budget, and only the strongest are
kept: memory is bounded however many dyads the whole matrix has.

Matrices are scipy sparse (any format), numpy arrays or DataFrames (cities x organisations);
results are numpy arrays in the matrix's row order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

# GaWC's service values run from 0 (no office) to 5 (the firm's headquarters).
GAWC_MAX_SERVICE_VALUE = 5
# Products of row pairs held at once while dyads are computed (~16 bytes each in a block).
PRODUCTS_PER_BLOCK = 20_000_000


def as_sparse(values) -> sparse.csr_array:
    """A service-value matrix as CSR float64 without stored zeros; refuses what the model
    does not define (negative or non-finite values)."""
    if isinstance(values, pd.DataFrame):
        values = values.to_numpy(dtype=float)
    matrix = sparse.csr_array(values, dtype=float)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    if matrix.nnz and not np.isfinite(matrix.data).all():
        raise ValueError("service values must be finite numbers")
    if matrix.nnz and matrix.data.min() < 0:
        raise ValueError("service values must not be negative")
    return matrix


def _elementwise_connectivity(matrix: sparse.csr_array) -> sparse.csr_array:
    """Each non-zero v_aj replaced by v_aj (T_j - v_aj): city a's interlocks through j."""
    weighted = matrix.copy()
    weighted.data = matrix.data * _others(matrix)
    return weighted


def _others(matrix: sparse.csr_array) -> np.ndarray:
    """For each non-zero v_aj, the sum of the other cities' values for j, T_j - v_aj.

    The subtraction is exact enough (within a few units in the last place) wherever v_aj is
    at most half of T_j. A value that dominates its column (1e9 beside 0.1 or 1e-300) would
    cancel T_j down to rounding noise, and its city would get a connectivity of 0 or off by
    far, so for those (at most one per column) the others are summed instead."""
    totals = np.asarray(matrix.sum(axis=0)).ravel()[matrix.indices]
    others = totals - matrix.data
    dominant = matrix.data > totals / 2
    if dominant.any():
        rest = matrix.copy()
        rest.data = np.where(dominant, 0.0, matrix.data)
        without = np.asarray(rest.sum(axis=0)).ravel()[matrix.indices]
        others = np.where(dominant, without, others)
    return others


def connectivity(values) -> np.ndarray:
    """Global network connectivity GNC_a = sum over b != a and j of v_aj v_bj."""
    weighted = _elementwise_connectivity(as_sparse(values))
    return np.asarray(weighted.sum(axis=1)).ravel()


def proportional(gnc: np.ndarray) -> np.ndarray:
    """Each connectivity as a share (0-1) of the highest; all 0 when nothing interlocks."""
    gnc = np.asarray(gnc, dtype=float)
    top = gnc.max(initial=0.0)
    return gnc / top if top > 0 else np.zeros_like(gnc)


def sector_connectivity(values, sectors) -> pd.DataFrame:
    """GNC counting only the organisations of each sector: one column per sector (sorted),
    one row per city. Organisations without a sector (None/NaN) are in no column, so the
    columns add up to the GNC when every organisation has a sector."""
    weighted = _elementwise_connectivity(as_sparse(values))
    labels = pd.Series(sectors, dtype=object)
    if len(labels) != weighted.shape[1]:
        raise ValueError(f"{len(labels)} sector labels for {weighted.shape[1]} organisations")
    codes, names = pd.factorize(labels, sort=True)  # missing -> -1
    known = codes >= 0
    onehot = sparse.csr_array(
        (np.ones(int(known.sum())), (np.flatnonzero(known), codes[known])),
        shape=(weighted.shape[1], len(names)),
    )
    return pd.DataFrame((weighted @ onehot).toarray(), columns=list(names))


@dataclass(frozen=True)
class Dyads:
    """City dyads as three aligned arrays: row positions a, b and their connectivity r_ab."""

    a: np.ndarray
    b: np.ndarray
    connectivity: np.ndarray

    def __len__(self) -> int:
        return len(self.a)

    def ordered(self) -> Dyads:
        """Strongest first; ties by a, then b, so results are reproducible."""
        order = np.lexsort((self.b, self.a, -self.connectivity))
        return Dyads(self.a[order], self.b[order], self.connectivity[order])

    def head(self, k: int) -> Dyads:
        return Dyads(self.a[:k], self.b[:k], self.connectivity[:k])

    @staticmethod
    def concat(parts: list[Dyads]) -> Dyads:
        empty = Dyads(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
        return Dyads(*(np.concatenate([getattr(p, f) for p in [empty, *parts]])
                       for f in ("a", "b", "connectivity")))


def _products(matrix: sparse.csr_array, budget: int,
              upper: bool) -> Iterator[tuple[int, int, sparse.csr_array]]:
    """Blocks of rows of V V^T: (first row, first column, block). With `upper`, a block holds
    only the columns from its first row on (the rest of each row is in earlier blocks' rows),
    which halves the work.

    A row's products number sum_j c_j over its organisations (c_j: the cities j is in), so
    blocks are cut where those sums reach `budget` (a single heavier row is a block alone)."""
    present = matrix.copy()
    present.data[:] = 1.0
    cumulative = np.cumsum(present @ np.asarray(present.sum(axis=0)).ravel())
    transposed = None if upper else matrix.T.tocsr()
    start, rows = 0, matrix.shape[0]
    while start < rows:
        reached = cumulative[start - 1] if start else 0.0
        stop = int(np.searchsorted(cumulative, reached + budget, side="right"))
        stop = min(max(stop, start + 1), rows)
        if upper:
            block = matrix[start:stop] @ matrix[start:].T.tocsr()
        else:
            block = matrix[start:stop] @ transposed
        yield start, (start if upper else 0), sparse.csr_array(block)
        start = stop


def _block_dyads(first_row: int, first_column: int, block: sparse.csr_array) -> Dyads:
    """Every entry of a block of V V^T as a dyad (the diagonal included)."""
    a = np.repeat(np.arange(first_row, first_row + block.shape[0], dtype=np.int64),
                  np.diff(block.indptr))
    return Dyads(a, block.indices.astype(np.int64) + first_column, block.data)


def interlock_blocks(values, budget: int = PRODUCTS_PER_BLOCK,
                     upper: bool = False) -> Iterator[Dyads]:
    """Every non-zero r_ab with a != b (both orders; with `upper`, only a < b), a block of
    rows of V V^T at a time."""
    for first_row, first_column, block in _products(as_sparse(values), budget, upper):
        dyads = _block_dyads(first_row, first_column, block)
        keep = dyads.a < dyads.b if upper else dyads.a != dyads.b
        yield Dyads(dyads.a[keep], dyads.b[keep], dyads.connectivity[keep])


def _at_least_kth(dyads: Dyads, k: int) -> Dyads:
    """The dyads at least as strong as the k-th strongest (ties at the cut all kept)."""
    if len(dyads) <= k:
        return dyads
    kth = np.partition(dyads.connectivity, len(dyads) - k)[len(dyads) - k]
    keep = dyads.connectivity >= kth
    return Dyads(dyads.a[keep], dyads.b[keep], dyads.connectivity[keep])


def strongest_dyads(values, k: int, budget: int = PRODUCTS_PER_BLOCK) -> Dyads:
    """The k strongest city dyads (a < b), strongest first."""
    if k < 1:
        raise ValueError("k must be at least 1")
    kept = Dyads.concat([])
    for first_row, first_column, block in _products(as_sparse(values), budget, upper=True):
        block = _block_dyads(first_row, first_column, block)
        keep = block.a < block.b
        if len(kept) >= k:  # only what reaches the weakest kept can enter
            keep &= block.connectivity >= kept.connectivity.min()
        block = Dyads(block.a[keep], block.b[keep], block.connectivity[keep])
        kept = _at_least_kth(Dyads.concat([kept, _at_least_kth(block, k)]), k)
    return kept.ordered().head(k)


def strongest_partners(values, k: int, budget: int = PRODUCTS_PER_BLOCK) -> Dyads:
    """Each city's k strongest partners (a: the city, b: the partner), by city then strength;
    a city has fewer when it interlocks with fewer cities."""
    if k < 1:
        raise ValueError("k must be at least 1")
    parts = []
    for block in interlock_blocks(values, budget):
        by_city = np.lexsort((block.b, -block.connectivity, block.a))
        ordered = Dyads(block.a[by_city], block.b[by_city], block.connectivity[by_city])
        starts = np.searchsorted(ordered.a, ordered.a, side="left")
        keep = np.arange(len(ordered)) - starts < k
        parts.append(Dyads(ordered.a[keep], ordered.b[keep], ordered.connectivity[keep]))
    return Dyads.concat(parts)


def partner_counts(values, budget: int = PRODUCTS_PER_BLOCK) -> np.ndarray:
    """How many other cities each city interlocks with (r_ab > 0).

    Cities with the same organisations have the same partners, so the count runs over the
    distinct rows of presence, each weighted by how many cities have it: in membership data
    (thousands of cities in a few large networks) that is a few hundred rows, not 10,000."""
    matrix = as_sparse(values)
    keys = [matrix.indices[matrix.indptr[r]:matrix.indptr[r + 1]].tobytes()
            for r in range(matrix.shape[0])]
    _, first, inverse, repeats = np.unique(np.array(keys, dtype=object), return_index=True,
                                           return_inverse=True, return_counts=True)
    patterns = matrix[first]
    counts = np.zeros(len(first))
    for block in interlock_blocks(patterns, budget, upper=True):
        counts += np.bincount(block.a, weights=repeats[block.b], minlength=len(first))
        counts += np.bincount(block.b, weights=repeats[block.a], minlength=len(first))
    # the other cities with the very same organisations (none when a city has none)
    counts += (repeats - 1) * (np.diff(patterns.indptr) > 0)
    return counts[inverse.ravel()].astype(np.int64)


def dyad_share(connectivity: np.ndarray, organisations: int,
               max_value: float = GAWC_MAX_SERVICE_VALUE) -> np.ndarray:
    """A dyad's connectivity as a share of the most it could be: every one of the
    `organisations` at the highest service value in both cities (25 m on GaWC's scale)."""
    return np.asarray(connectivity, dtype=float) / (max_value ** 2 * organisations)
