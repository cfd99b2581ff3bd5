"""Cities tied pairwise: air routes (OpenFlights) and twinning (sister cities), and the networks
cities are members of (C40, ICLEI, Eurocities, ...).

Links come as a frame with columns city_a, city_b and weight (undirected, each pair once: the
warehouse's `city_link`); memberships as network_id, city_id (the warehouse's `membership`);
places as a frame indexed by city id with columns country and continent, for reach.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from indicators.network.graph import betweenness, eigenvector
from indicators.network.interlocking import connectivity, partner_counts


def _both_ways(links: pd.DataFrame) -> pd.DataFrame:
    """Each link seen from both of its cities: city, partner, weight."""
    forth = links[["city_a", "city_b", "weight"]].set_axis(["city", "partner", "weight"], axis=1)
    back = links[["city_b", "city_a", "weight"]].set_axis(["city", "partner", "weight"], axis=1)
    return pd.concat([forth, back], ignore_index=True)


def link_reach(links: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Per city: partners (degree), weighted degree, how many countries and continents its
    partners are in, and the international share of its weight (links to cities of another
    country). Partners missing from `places` count in the degrees, not in the reach."""
    ends = _both_ways(links)
    ends = ends.join(places[["country"]], on="city").join(
        places[["country", "continent"]].add_prefix("partner_"), on="partner")
    abroad = ends["weight"].where(ends["country"] != ends["partner_country"], 0.0)
    grouped = ends.assign(abroad=abroad).groupby("city", sort=True)
    weight = grouped["weight"].sum()
    return pd.DataFrame({
        "partners": grouped["partner"].nunique(),
        "weighted_degree": weight,
        "countries": grouped["partner_country"].nunique(),
        "continents": grouped["partner_continent"].nunique(),
        "international_share": grouped["abroad"].sum() / weight,
    }).rename_axis("city_id")


def adjacency(links: pd.DataFrame) -> tuple[pd.Index, sparse.csr_array]:
    cities = pd.Index(pd.unique(pd.concat([links["city_a"], links["city_b"]])))
    a, b = cities.get_indexer(links["city_a"]), cities.get_indexer(links["city_b"])
    weight = links["weight"].to_numpy(dtype=float)
    matrix = sparse.coo_array((np.concatenate([weight, weight]),
                               (np.concatenate([a, b]), np.concatenate([b, a]))),
                              shape=(len(cities), len(cities))).tocsr()
    return cities, matrix


def air_network(links: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """link_reach, plus betweenness (on hops: the share of shortest connections between other
    cities that change planes here) and eigenvector centrality (on route counts, 1 = the most
    central city: tied to cities that are themselves well tied)."""
    cities, matrix = adjacency(links)
    central = pd.DataFrame({"betweenness": betweenness(matrix),
                            "eigenvector": eigenvector(matrix)}, index=cities)
    return link_reach(links, places).join(central)


def membership_matrix(membership: pd.DataFrame) -> tuple[pd.Index, pd.Index, sparse.csr_array]:
    """Cities x networks, 1 where the city is a member."""
    cities = pd.Index(sorted(membership["city_id"].unique()))
    networks = pd.Index(sorted(membership["network_id"].unique()))
    rows, cols = cities.get_indexer(membership["city_id"]), networks.get_indexer(
        membership["network_id"])
    ones = np.ones(len(rows))
    matrix = sparse.coo_array((ones, (rows, cols)), shape=(len(cities), len(networks))).tocsr()
    matrix.data[:] = 1.0  # a membership listed twice is one membership
    return cities, networks, matrix


def membership_interlocks(membership: pd.DataFrame) -> pd.DataFrame:
    """Per city: memberships, partners (cities sharing at least one network with it) and
    interlocks (shared memberships summed over its partners: the interlocking model on 0/1
    values)."""
    cities, _, matrix = membership_matrix(membership)
    return pd.DataFrame({
        "memberships": np.asarray(matrix.sum(axis=1)).ravel().astype(int),
        "partners": partner_counts(matrix),
        "interlocks": connectivity(matrix).astype(int),
    }, index=cities.rename("city_id"))
