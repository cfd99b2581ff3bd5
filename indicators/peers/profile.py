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

import numpy as np
import pandas as pd

from indicators.growth import annual_growth

REQUIRED = ("log_population", "growth")
OPTIONAL = ("log_air_destinations", "log_air_routes", "log_twin_partners")
PROFILE_FEATURES = REQUIRED + OPTIONAL
# UN WUP gives every fifth year: ten years are two of its steps (warehouse.peers.context reads
# the earlier value this many years back)
GROWTH_YEARS = 10


def profile(context: pd.DataFrame) -> pd.DataFrame:
    """The raw profile (PROFILE_FEATURES, unstandardised) of the cities in the universe, from
    the warehouse's context frame (warehouse.peers.context), indexed by city_id. Also carries
    `population` (the agglomeration population the profile uses) for evidence."""
    population = context["agglomeration_population"]
    raw = pd.DataFrame({
        "log_population": np.log10(population.where(population > 0)),
        "growth": annual_growth(context["agglomeration_population_earlier"], population,
                                GROWTH_YEARS),
        "log_air_destinations": np.log10(1 + context["air_destinations"]),
        "log_air_routes": np.log10(1 + context["air_routes"]),
        "log_twin_partners": np.log10(1 + context["twin_partners"]),
    }, index=context.index)
    raw["population"] = population
    return raw.dropna(subset=list(REQUIRED)).sort_index()


def standardise(raw: pd.DataFrame) -> pd.DataFrame:
    """Each feature z-scored over the cities given (population standard deviation); a feature
    that does not vary is 0 everywhere it is present."""
    features = raw[list(PROFILE_FEATURES)].astype(float)
    spread = features.std(ddof=0).replace(0.0, np.nan)
    return ((features - features.mean()) / spread).where(features.isna() | spread.notna(), 0.0)


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


def nearest(city_id: str, raw: pd.DataFrame, k: int,
            z: pd.DataFrame | None = None) -> pd.DataFrame:
    """The k cities of the universe nearest `city_id` on the standardised profile, nearest
    first (ties broken by city_id): city_id, distance, population and the raw profile values.
    Empty if the city is not in the universe. `z`: standardise(raw), when already made."""
    if city_id not in raw.index:
        return pd.DataFrame(columns=["city_id", "distance", "population", *PROFILE_FEATURES])
    z = standardise(raw) if z is None else z
    distance = nan_euclidean(z.loc[city_id].to_numpy(), z.to_numpy())
    ids = raw.index.to_numpy(object)
    # the k first by (distance, city_id), sorted in numpy: sorting the whole frame by its
    # string ids costs more than the rest of the rule
    order = np.lexsort((ids, distance))
    order = order[~np.isnan(distance[order]) & (ids[order] != city_id)][:k]
    found = raw.iloc[order].assign(distance=distance[order])
    found = found.rename_axis("city_id").reset_index()
    return found[["city_id", "distance", "population", *PROFILE_FEATURES]]
