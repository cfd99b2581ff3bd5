"""Which city dyads share more organisations than the organisations' sizes explain: the
backbone of the cities x organisations projection under Neal's stochastic degree sequence model
(SDSM), and each city's number of backbone partners.

Why: GNC is driven largely by firm size (Neal 2012, "Structural determinism in the interlocking
world city network", Geographical Analysis 44(2)). A city with an office of every large firm
interlocks strongly with every other such city whatever the firms choose; GNC_a is, to a large
part, sum_j v_aj T_j. The SDSM asks instead, for each pair of cities, whether they share more
organisations than in random matrices where every city keeps its number of organisations and
every organisation its number of cities (in expectation) (Neal 2014, "The backbone of bipartite
projections", Social Networks 39). A big city paired with big firms is not significant for being
big; a pair is significant for choosing each other.

The model, as citybench computes it:
- presence only: B_aj = 1 where v_aj > 0 (the SDSM is defined on binary matrices);
- the null: the bipartite configuration model (BiCM; Saracco et al. 2015, Scientific Reports 5),
  the maximum-entropy matrix with the observed row and column sums as expected values,
  P_aj = x_a y_j / (1 + x_a y_j), the form Neal's R package `backbone` uses for sdsm() since
  2.0. P depends on a city only through its degree and on an organisation only through its
  size, so it is solved over the distinct degrees, however large the matrix;
- the statistic: co-occurrence C_ab = sum_j B_aj B_bj, which under the null is Poisson-binomial
  with probabilities P_aj P_bj; the p-value P(C >= observed) is exact (by recursion over the
  organisations) when that is cheap and otherwise the refined normal approximation (Volkova
  1996), as in `backbone`;
- the test: one-tailed (more shared than expected) at alpha 0.05 without correction for the
  n(n-1)/2 tests, as backbone's sdsm() by default; Holm's or Bonferroni's correction can be
  chosen. On the FSU 2018 matrix (102 cities) the uncorrected test keeps 208 of the 2,993
  pairs that share a firm; with Holm's none survives, too few cities for that power.

The city measure is its backbone degree: how many cities it is significantly tied to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import ndtr  # the normal CDF; scipy.stats takes 0.5 s to import

from indicators.network.interlocking import Dyads, as_sparse, interlock_blocks

ALPHA = 0.05
CORRECTIONS = ("none", "holm", "bonferroni")
# Exact Poisson-binomial tails cost (distinct degree pairs) x organisations^2 operations.
EXACT_LIMIT = 200_000_000


@dataclass(frozen=True)
class Null:
    """BiCM probabilities by degree class: P[row class, column class]."""

    row_class: np.ndarray  # per city, its degree class
    col_count: np.ndarray  # per column class, how many organisations are in it
    probability: np.ndarray  # row classes x column classes


def bicm(presence: sparse.csr_array, tolerance: float = 1e-10,
         max_iterations: int = 20_000) -> Null:
    """The bipartite configuration model of a 0/1 matrix, solved over degree classes."""
    rows = np.asarray(presence.sum(axis=1)).ravel()
    cols = np.asarray(presence.sum(axis=0)).ravel()
    row_degrees, row_class, row_count = np.unique(rows, return_inverse=True, return_counts=True)
    col_degrees, col_count = np.unique(cols, return_counts=True)
    prob = np.full((len(row_degrees), len(col_degrees)), np.nan)
    free_r = np.ones(len(row_degrees), dtype=bool)
    free_c = np.ones(len(col_degrees), dtype=bool)
    # A class with none or all of what is still open has probability 0 or 1 there (a city
    # with every firm, a firm in every city); taking it out can settle others, so repeat.
    while True:
        k = row_degrees - np.nansum(prob * col_count, axis=1)
        d = col_degrees - np.nansum(prob * row_count[:, None], axis=0)
        room_r, room_c = col_count[free_c].sum(), row_count[free_r].sum()
        settled_r = free_r & ((k <= 0) | (k >= room_r))
        settled_c = free_c & ((d <= 0) | (d >= room_c))
        if not settled_r.any() and not settled_c.any():
            break
        for r in np.flatnonzero(settled_r):
            prob[r, free_c] = 0.0 if k[r] <= 0 else 1.0
        free_r &= ~settled_r
        for c in np.flatnonzero(settled_c & free_c):
            prob[free_r, c] = 0.0 if d[c] <= 0 else 1.0
        free_c &= ~settled_c
    if free_r.any() and free_c.any():
        prob[np.ix_(free_r, free_c)] = _solve(k[free_r], row_count[free_r], d[free_c],
                                              col_count[free_c], tolerance, max_iterations)
    return Null(row_class, col_count, prob)


def _solve(k, nk, d, md, tolerance, max_iterations) -> np.ndarray:
    """x, y with sum_c md_c x y_c/(1+x y_c) = k and sum_r nk_r x_r y/(1+x_r y) = d, by the
    fixed-point iteration of Saracco et al. (alternating updates); P returned.

    Degrees on the edge of what is possible (some cells forced to 0 or 1 without a whole row
    or column being so) converge slowly, towards those cells: a looser fit is accepted then."""
    scale = max(1.0, k.max(), d.max())
    total = float((k * nk).sum())
    x, y = k / np.sqrt(total), d / np.sqrt(total)
    for _ in range(max_iterations):
        x = k / ((md * y) / (1.0 + np.outer(x, y))).sum(axis=1)
        y = d / ((nk * x)[:, None] / (1.0 + np.outer(x, y))).sum(axis=0)
        p = np.outer(x, y) / (1.0 + np.outer(x, y))
        error = max(np.abs(p @ md - k).max(), np.abs(nk @ p - d).max())
        if error < tolerance * scale:
            return p
    if error < 1e-4 * scale:
        return p
    raise ArithmeticError(f"the degree-sequence model did not converge (error {error:.3g})")


def _tails(observed: np.ndarray, pair_prob: np.ndarray,
           weights: np.ndarray) -> tuple[np.ndarray, str]:
    """P(X >= observed) for X Poisson-binomial with probabilities pair_prob[i, c] each
    repeated weights[c] times (one row per class pair), and how it was computed."""
    organisations = int(weights.sum())
    if len(observed) * organisations ** 2 <= EXACT_LIMIT:
        dist = np.zeros((len(observed), organisations + 1))
        dist[:, 0] = 1.0
        for column, repeats in enumerate(weights):
            p = pair_prob[:, column:column + 1]
            for _ in range(int(repeats)):
                dist[:, 1:] = dist[:, 1:] * (1 - p) + dist[:, :-1] * p
                dist[:, 0] *= 1 - p[:, 0]
        upper = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]  # upper[:, c] = P(X >= c)
        tail = upper[np.arange(len(observed)), observed.astype(int)]
        return np.clip(tail, 0.0, 1.0), "exact"
    mean = pair_prob @ weights
    variance = (pair_prob * (1 - pair_prob)) @ weights
    third = (pair_prob * (1 - pair_prob) * (1 - 2 * pair_prob)) @ weights
    sd = np.sqrt(np.maximum(variance, 1e-300))
    z = (observed - 0.5 - mean) / sd  # P(X <= observed - 1), with continuity correction
    density = np.exp(-z * z / 2) / np.sqrt(2 * np.pi)
    below = ndtr(z) + third * (1 - z * z) * density / (6 * sd ** 3)
    return np.clip(1.0 - below, 0.0, 1.0), "refined normal approximation"


@dataclass(frozen=True)
class Backbone:
    tested: Dyads  # every pair sharing at least one organisation (a < b), co-occurrence counts
    p_value: np.ndarray  # aligned with `tested`
    significant: np.ndarray  # bool, aligned with `tested`
    cities: int
    method: str  # "exact" or "refined normal approximation"

    def degree(self) -> np.ndarray:
        """Backbone partners of each city."""
        a, b = self.tested.a[self.significant], self.tested.b[self.significant]
        return np.bincount(np.concatenate([a, b]), minlength=self.cities)

    def lookup(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """p-value and significance of given pairs (either order); a pair that shares
        nothing has p = 1."""
        key = self.tested.a * self.cities + self.tested.b
        order = np.argsort(key)
        wanted = np.minimum(a, b) * self.cities + np.maximum(a, b)
        at = np.minimum(np.searchsorted(key[order], wanted), len(key) - 1)
        if not len(key):
            return np.ones(len(wanted)), np.zeros(len(wanted), dtype=bool)
        hit = key[order][at] == wanted
        index = order[at]
        return (np.where(hit, self.p_value[index], 1.0),
                np.where(hit, self.significant[index], False))


def sdsm_backbone(values, alpha: float = ALPHA, correction: str = "none") -> Backbone:
    """The SDSM backbone of the projection of a cities x organisations matrix (module doc)."""
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; known: {', '.join(CORRECTIONS)}")
    presence = as_sparse(values)
    presence.data[:] = 1.0
    n = presence.shape[0]
    null = bicm(presence)
    tested = Dyads.concat(list(interlock_blocks(presence, upper=True)))
    # p depends on the pair only through the two degree classes and the co-occurrence
    ca, cb = null.row_class[tested.a], null.row_class[tested.b]
    keys = np.stack([np.minimum(ca, cb), np.maximum(ca, cb), tested.connectivity.astype(int)])
    distinct, inverse = np.unique(keys, axis=1, return_inverse=True)
    pair_prob = null.probability[distinct[0]] * null.probability[distinct[1]]
    tails, method = _tails(distinct[2].astype(float), pair_prob, null.col_count.astype(float))
    p_value = tails[inverse.ravel()]
    significant = _reject(p_value, alpha, correction, tests=n * (n - 1) // 2)
    return Backbone(tested, p_value, significant, n, method)


def _reject(p_value: np.ndarray, alpha: float, correction: str, tests: int) -> np.ndarray:
    """Which hypotheses are rejected among `tests` (pairs not listed have p = 1)."""
    if correction == "none":
        return p_value <= alpha
    if correction == "bonferroni":
        return p_value <= alpha / max(tests, 1)
    order = np.argsort(p_value, kind="stable")
    thresholds = alpha / (tests - np.arange(len(order)))
    passes = p_value[order] <= thresholds
    first_fail = int(np.argmin(passes)) if not passes.all() else len(order)
    rejected = np.zeros(len(p_value), dtype=bool)
    rejected[order[:first_fail]] = True
    return rejected
