"""Uncertainty and sensitivity analysis (JRC/OECD Handbook, step 7; Saisana et al. 2005;
COINr's get_sensitivity): how much would the ranks move if the assumptions a user is unsure
of had been made differently?

The assumptions are the method's `[uncertainty]` table: weights perturbed by up to
± `weights_noise` (each weight times a uniform factor), and alternatives for the
normalisation, aggregation, imputation and treatment steps (each alternative replaces the
whole step table). Every replication draws one value of each assumption, builds the composite
and ranks the units; the rank distribution gives each unit a median rank and a 5-95% interval.

Sensitivity uses the Saltelli design: two independent samples A and B of N replications, and
for each assumption a sample A with that assumption taken from B. The output is COINr's: the
mean absolute shift of the units' ranks from the nominal ranks. First-order indices (Saltelli
2010) say how much of its variance each assumption explains alone, total indices (Jansen
1999) include its interactions; weights count as one assumption (a group of factors).

Only the aggregation is repeated per replication; the data sets before it are computed once
per combination of the discrete alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from indicators.composite.build import aggregate_values, prepare
from indicators.composite.coin import Coin
from indicators.composite.data import SINGLE_PERIOD
from indicators.composite.spec import SpecError

DISCRETE_STEPS = ("impute", "treat", "normalise", "aggregate")


@dataclass(frozen=True)
class UncertaintyResult:
    ranks: pd.DataFrame  # per unit: nominal, median, low (5%), high (95%), mean rank
    sensitivity: pd.DataFrame | None  # per assumption: first_order, total
    replications: int
    runs: int  # composites built, sensitivity included


@dataclass(frozen=True)
class _Assumption:
    name: str
    columns: slice  # the sample columns it reads
    alternatives: list[dict[str, Any]] | None  # None: weights


def analyse(coin: Coin, settings: dict[str, Any] | None = None) -> UncertaintyResult:
    """Run the method's `[uncertainty]` (or `settings`) on a built coin."""
    settings = dict(coin.method.uncertainty if settings is None else settings)
    where = f"{coin.method.source}: uncertainty"
    replications = int(settings.get("replications", 1000))
    rng = np.random.default_rng(settings.get("seed", 1))
    if settings.get("period", coin.periods[-1]) not in coin.periods:
        known = (
            "the data have no period column" if coin.periods == [SINGLE_PERIOD]
            else f"periods: {', '.join(map(str, coin.periods))}"
        )
        raise SpecError(f"{where}.period: no period {settings['period']!r}; {known}")
    period = coin._period(settings.get("period"))
    noise = float(settings.get("weights_noise", 0.0))
    weighted = [n for n in coin.framework.nodes if coin.framework.nodes[n].parent is not None]

    assumptions, width = [], 0
    for step in DISCRETE_STEPS:
        alternatives = settings.get(step, [])
        if len(alternatives) >= 2:
            assumptions.append(_Assumption(step, slice(width, width + 1), alternatives))
            width += 1
    if noise > 0:
        assumptions.append(_Assumption("weights", slice(width, width + len(weighted)), None))
        width += len(weighted)
    if not assumptions:
        raise SpecError(f"{where}: nothing is uncertain: give weights_noise or 2+ alternatives")
    # the nominal composite, N replications, and with sensitivity N for B and N per assumption
    runs = replications * (len(assumptions) + 2) + 1 if settings.get("sensitivity", True) else (
        replications + 1
    )
    _check_cost(coin, settings, replications, runs, where)

    model = _Model(coin, period, assumptions, weighted, noise, where)
    nominal = model.nominal_ranks
    a = rng.random((replications, width))
    ranks_a = model.ranks(a)
    result_ranks = _summarise(coin, period, nominal, ranks_a)
    sensitivity = None
    if settings.get("sensitivity", True):
        b = rng.random((replications, width))
        y_a = _mean_shift(ranks_a, nominal)
        y_b = _mean_shift(model.ranks(b), nominal)
        variance = np.var(np.concatenate([y_a, y_b]), ddof=1)
        rows = []
        for assumption in assumptions:
            ab = a.copy()
            ab[:, assumption.columns] = b[:, assumption.columns]
            y_ab = _mean_shift(model.ranks(ab), nominal)
            rows.append(
                {
                    "assumption": assumption.name,
                    "first_order": np.mean(y_b * (y_ab - y_a)) / variance if variance else 0.0,
                    "total": np.mean((y_a - y_ab) ** 2) / 2 / variance if variance else 0.0,
                }
            )
        sensitivity = pd.DataFrame(rows).set_index("assumption")
    return UncertaintyResult(result_ranks, sensitivity, replications, runs)


# What a Monte Carlo may cost before it starts, so that `replications = 100000000` is refused
# at once instead of running for days or exhausting memory: elementary operations (one unit
# and one child of one node in one composite; a Copeland node compares every pair of units,
# twice over for COINr's rounding, and is called once per replication, at a cost of some
# 5,000 operations), 7 to 10 ns each on a laptop, so 1e10 is a minute or two; and
# unit-replications, the size of each array of ranks the analysis holds (8 bytes each,
# three or four at once).
MAX_OPERATIONS = 1e10
MAX_RANKS = 2e7
COPELAND_CALL = 5_000


def _check_cost(
    coin: Coin, settings: dict[str, Any], replications: int, runs: int, where: str
) -> None:
    units = len(coin.units)
    if replications * units > MAX_RANKS:
        raise SpecError(
            f"{where}.replications: {replications:,} replications of {units:,} units is "
            f"{replications * units:.2g} ranks to hold; at most {MAX_RANKS:.0e}: lower it"
        )
    operations = runs * _operations_per_run(coin, settings)
    if operations > MAX_OPERATIONS:
        raise SpecError(
            f"{where}.replications: {replications:,} replications ({runs:,} composites of "
            f"{units:,} units) is about {operations:.2g} operations; at most "
            f"{MAX_OPERATIONS:.0e} (a minute or two): lower it"
        )


def _operations_per_run(coin: Coin, settings: dict[str, Any]) -> int:
    """One composite's aggregation, at its dearest over the aggregation alternatives: units x
    children at each node; where the level's method is Copeland, units squared x children
    (twice with COINr's rounding) and the cost of a call."""
    framework, units = coin.framework, len(coin.units)
    methods = [coin.method] + [
        coin.method.replace("aggregate", table) for table in settings.get("aggregate", [])
    ]
    total = 0
    for node in framework.aggregates:
        level, children = framework.levels[node], len(framework.children(node))
        total += max(_node_cost(m.for_level("aggregate", level), units, children)
                     for m in methods)
    return total


def _node_cost(params: dict[str, Any], units: int, children: int) -> int:
    if params.get("method") != "copeland":
        return units * children
    rounds = 2 if params.get("copeland_ties") == "coinr" else 1
    return units * units * children * rounds + COPELAND_CALL


class _Model:
    """Sample rows (values in [0, 1)) -> the units' ranks on the index."""

    def __init__(self, coin, period, assumptions, weighted, noise, where):
        self.coin, self.period = coin, period
        self.assumptions, self.weighted, self.noise, self.where = (
            assumptions, weighted, noise, where
        )
        self.nominal_weights = dict(coin.weights)
        self.prepared: dict[tuple, tuple[np.ndarray, np.ndarray | None]] = {}
        index = coin.columns["Aggregated"].index(coin.framework.id)
        self.nominal_ranks = _rank(coin.sets["Aggregated"][period, :, index], self._kept(coin))

    def _kept(self, coin: Coin) -> np.ndarray:
        if coin.included is None:
            return np.ones(len(coin.units), dtype=bool)
        return coin.included[self.period]

    def ranks(self, sample: np.ndarray) -> np.ndarray:
        """One row of ranks per sample row. Rows that draw the same discrete alternatives are
        aggregated together, their weights stacked, in blocks that bound memory."""
        out = np.empty((sample.shape[0], len(self.coin.units)))
        discrete = [a for a in self.assumptions if a.alternatives is not None]
        drawn = [(sample[:, a.columns.start] * len(a.alternatives)).astype(int) for a in discrete]
        choices = np.stack(drawn, axis=1) if drawn else np.zeros((len(sample), 0), dtype=int)
        block = max(1, int(2e7 // (len(self.coin.units) * len(self.coin.panel.indicators))))
        for combination in np.unique(choices, axis=0):
            rows = np.flatnonzero((choices == combination).all(axis=1))
            for start in range(0, rows.size, block):
                chosen = rows[start : start + block]
                out[chosen] = self._block(tuple(combination.tolist()), sample[chosen])
        return out

    def _block(self, combination: tuple[int, ...], sample: np.ndarray) -> np.ndarray:
        method = self.coin.method
        discrete = [a for a in self.assumptions if a.alternatives is not None]
        choice = list(zip([a.name for a in discrete], combination, strict=True))
        for assumption, k in zip(discrete, combination, strict=True):
            method = method.replace(assumption.name, assumption.alternatives[k])
        key = tuple(c for c in choice if c[0] != "aggregate")
        described = ", ".join(f"{step} alternative {k + 1}" for step, k in choice)
        if key not in self.prepared:
            try:
                prepared = prepare(self.coin.framework, method, self.coin.panel)
            except SpecError as error:  # an alternative's step refused: name it, once
                detail = str(error).removeprefix(f"{method.source}: ")
                raise SpecError(f"{self.where}: with {described}: {detail}") from None
            self.prepared[key] = (
                prepared.sets["Normalised"][self.period][None],
                self._kept(prepared),
            )
        normalised, kept = self.prepared[key]
        weights: dict[str, float | np.ndarray] = dict(self.nominal_weights)
        perturbed = [a for a in self.assumptions if a.alternatives is None]
        if perturbed:
            factors = 1 - self.noise + 2 * self.noise * sample[:, perturbed[0].columns]
            for k, node in enumerate(self.weighted):
                weights[node] = self.nominal_weights[node] * factors[:, k]
        else:
            normalised = np.broadcast_to(normalised, (sample.shape[0], *normalised.shape[1:]))
        try:
            values, _, _ = aggregate_values(
                self.coin.framework, method, self.coin.panel, normalised, weights
            )
        except ValueError as error:
            raise SpecError(f"{self.where}: with {described}: {error}") from None
        index = np.broadcast_to(values[self.coin.framework.id], (sample.shape[0], kept.size))
        return _rank(index, kept)


def _rank(index: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Ranks along the last axis (1 = best, ties share the better rank)."""
    scores = np.where(kept, index, np.nan)
    return rankdata(-scores, method="min", axis=-1, nan_policy="omit")


def _mean_shift(ranks: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """Per replication, the mean absolute shift of the units ranked both there and in the
    nominal composite; 0 when there is none (no rank moved), not nanmean's warning and NaN."""
    shift = np.abs(ranks - nominal)
    counted = ~np.isnan(shift)
    return np.where(counted, shift, 0.0).sum(axis=1) / np.maximum(counted.sum(axis=1), 1)


def _percentile(ranks: np.ndarray, q: float, method: str) -> np.ndarray:
    """np.nanpercentile along the replications, with the same result: numpy walks column by
    column once any value is missing (a unit the screen left out has no rank at all), so the
    columns without a gap, usually all but a few, are computed at once."""
    out = np.full(ranks.shape[1], np.nan)
    gaps = np.isnan(ranks).any(axis=0)
    out[~gaps] = np.percentile(ranks[:, ~gaps], q, axis=0, method=method)
    partial = gaps & ~np.isnan(ranks).all(axis=0)
    if partial.any():
        out[partial] = np.nanpercentile(ranks[:, partial], q, axis=0, method=method)
    return out


def _summarise(coin: Coin, period: int, nominal: np.ndarray, ranks: np.ndarray) -> pd.DataFrame:
    # the interval is widened to whole ranks: the 5% rank rounded down, the 95% up
    low = _percentile(ranks, 5, "lower")
    high = _percentile(ranks, 95, "higher")
    median = _percentile(ranks, 50, "linear")
    ranked = ~np.isnan(ranks).all(axis=0)  # a unit the screen left out has no mean rank
    mean = np.full(ranks.shape[1], np.nan)
    mean[ranked] = np.nanmean(ranks[:, ranked], axis=0)
    frame = pd.DataFrame(
        {
            "nominal": nominal,
            "median": median,
            "low": low,
            "high": high,
            "mean": mean,
        },
        index=pd.Index(coin.units, name="unit"),
    )
    return frame.dropna(subset=["nominal"]).sort_values(["nominal", "median"])
