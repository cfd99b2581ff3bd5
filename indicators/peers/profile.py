"""A standardised context profile of each city, and its nearest neighbours on it.

The profile (PROFILE_FEATURES) describes a city's size, dynamism and connectedness:

- log_population: log10 of the agglomeration population (UN WUP, its latest year up to the
  year asked for). Required.
- growth: the agglomeration's average annual growth over the ten years before that year, in %
  a year. Required.
- log_air_destinations, log_air_routes: log10(1 + cities served directly / airline routes),
  OpenFlights. Optional.
- log_twin_partners: log10(1 + twin towns). Optional.

The universe is the cities with every required value: UN WUP agglomerations with a growth rate.
Population is an agglomeration's on purpose: a GeoNames population is a municipality's, and
comparing Lyon's 0.5 M (the commune) with Milan's 3 M (the urban area) compares boundaries,
not cities.

Each feature is z-scored over the universe (mean 0, standard deviation 1), so that a feature
with a wide range (routes) weighs no more than one with a narrow range (growth). Counts are
logged first: a hub with 1,000 routes is not 100 times as different as one with 10.

Missing optional values are missing, never 0 (a city absent from OpenFlights may be served by
an airport the registry puts in a neighbouring city). The distance between two cities is then
the nan-Euclidean distance (as scikit-learn's `nan_euclidean_distances`): the Euclidean
distance over the features both have, scaled up by sqrt(features / features both have), so
that a distance over fewer features is comparable with one over all of them.
"""

from __future__ import annotations

import warnings

import numpy as np

from indicators.growth import annual_growth

REQUIRED = ("log_population", "growth")
OPTIONAL = ("log_air_destinations", "log_air_routes", "log_twin_partners")
PROFILE_FEATURES = REQUIRED + OPTIONAL
# UN WUP gives every fifth year: ten years are two of its steps (warehouse.peers.context reads
# the earlier value this many years back)
GROWTH_YEARS = 10
NEAREST_COLUMNS = ("city_id", "distance", "population", *PROFILE_FEATURES)

# a table as numpy columns, every array the same length (warehouse.columns reads them)
Columns = dict[str, np.ndarray]


def profile(context: Columns) -> Columns:
    """The raw profile (PROFILE_FEATURES, unstandardised) of the cities in the universe, by
    city_id (sorted), from the warehouse's context columns (warehouse.peers.context). Also
    carries `population` (the agglomeration population the profile uses) for evidence."""
    population = np.asarray(context["agglomeration_population"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = {
            "log_population": np.log10(np.where(population > 0, population, np.nan)),
            "growth": annual_growth(
                np.asarray(context["agglomeration_population_earlier"], dtype=float),
                population, GROWTH_YEARS),
            **{f"log_{measure}": np.log10(1 + np.asarray(context[measure], dtype=float))
               for measure in ("air_destinations", "air_routes", "twin_partners")},
        }
    raw["population"] = population
    kept = np.all([~np.isnan(raw[feature]) for feature in REQUIRED], axis=0)
    ids = np.asarray(context["city_id"], dtype=object)[kept]
    order = np.argsort(ids, kind="stable")
    return {"city_id": ids[order]} | {name: values[kept][order] for name, values in raw.items()}


def standardise(raw: Columns) -> np.ndarray:
    """The features (rows: raw's cities; columns: PROFILE_FEATURES) each z-scored over the
    cities given (population standard deviation); a feature that does not vary is 0
    everywhere it is present."""
    return np.column_stack([_z_scores(np.asarray(raw[feature], dtype=float))
                            for feature in PROFILE_FEATURES]).reshape(-1, len(PROFILE_FEATURES))


def _z_scores(values: np.ndarray) -> np.ndarray:
    # one feature at a time: sums over one contiguous array, as pandas' column reductions
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature no city has: NaN
        spread = np.nanstd(values)
        if not spread > 0:
            return np.where(np.isnan(values), np.nan, 0.0)
        return (values - np.nanmean(values)) / spread


def nan_euclidean(point: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The nan-Euclidean distance of `point` to each row of `points` (missing where they
    share no feature)."""
    diff = points - point
    shared = ~np.isnan(diff)
    count = shared.sum(axis=1)
    squared = np.where(shared, diff, 0.0) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.sqrt(squared.sum(axis=1) * point.size / count)
    return np.where(count > 0, distance, np.nan)


def nearest(city_id: str, raw: Columns, k: int, z: np.ndarray | None = None) -> list[dict]:
    """The k cities of the universe nearest `city_id` on the standardised profile, nearest
    first (ties broken by city_id), one row each (NEAREST_COLUMNS): city_id, distance,
    population and the raw profile values. Empty if the city is not in the universe.
    `z`: standardise(raw), when already made."""
    ids = raw["city_id"]
    at = np.flatnonzero(ids == city_id)
    if not len(at):
        return []
    z = standardise(raw) if z is None else z
    distance = nan_euclidean(z[at[0]], z)
    # the k first by (distance, city_id), sorted in numpy: sorting the whole frame by its
    # string ids costs more than the rest of the rule
    order = np.lexsort((ids, distance))
    order = order[~np.isnan(distance[order]) & (ids[order] != city_id)][:k]
    return [{"city_id": ids[i], "distance": float(distance[i]),
             **{name: float(raw[name][i]) for name in ("population", *PROFILE_FEATURES)}}
            for i in order]
