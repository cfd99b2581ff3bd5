"""The network measures of a published warehouse (indicators.network on the tables the gawc,
climactor, wikidata, openflights and twincities sources load), for the city page.

- firms: each service-value matrix (a dataset of firm memberships) gives the GNC of its cities
  that resolved to the registry, their share of the top, rank and tier;
- air: OpenFlights routes between cities: partners, routes, reach, international share,
  betweenness and eigenvector centrality;
- city networks: memberships, partners through shared networks, each network's reach;
- twinning: partners, their countries and continents.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from indicators.network import interlocking, tiers
from indicators.network.links import (
    air_network,
    link_reach,
    membership_interlocks,
    network_reach,
)
from warehouse import read_model


@dataclass(frozen=True)
class Measures:
    firms: pd.DataFrame  # dataset_id, period, city_id, connectivity, share, rank, cities, tier
    air: pd.DataFrame  # by city_id
    networks: pd.DataFrame  # by city_id: memberships, partners, interlocks
    reach: pd.DataFrame  # by network_id: network, cities, countries, continents
    twinning: pd.DataFrame  # by city_id
    air_links: pd.DataFrame  # city_a, city_b, weight


def _ranked(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Ranks (1 = highest, ties share the better rank) beside the given columns."""
    return frame.assign(**{f"{c}_rank": frame[c].rank(method="min", ascending=False)
                           .astype("Int64") for c in columns})


def firm_connectivity(members: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for (dataset_id, period), cells in members.groupby(["dataset_id", "period"], sort=True):
        matrix = cells.pivot_table(index="city_id", columns="network_id", values="value",
                                   aggfunc="max", fill_value=0.0)
        gnc = interlocking.connectivity(matrix)
        parts.append(pd.DataFrame({
            "dataset_id": dataset_id, "period": period, "city_id": matrix.index,
            "connectivity": gnc, "share": interlocking.proportional(gnc),
            "rank": pd.Series(gnc).rank(method="min", ascending=False).astype(int).to_numpy(),
            "cities": len(matrix), "tier": tiers.classify(gnc).to_numpy(),
        }))
    columns = ["dataset_id", "period", "city_id", "connectivity", "share", "rank", "cities",
               "tier"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def compute(db: Path) -> Measures:
    places = read_model.places(db)
    members = read_model.memberships(db)
    firms = firm_connectivity(members[members["kind"] == "firm"])
    in_networks = members.loc[members["kind"] == "city-network",
                              ["network_id", "network", "city_id"]].drop_duplicates()
    air_links = read_model.city_links(db, "air-route")
    twins = read_model.city_links(db, "twinning")
    empty = pd.DataFrame(index=pd.Index([], name="city_id"))
    air = (_ranked(air_network(air_links, places), ["partners", "weighted_degree",
                                                     "betweenness", "eigenvector"])
           if len(air_links) else empty)
    if len(in_networks):
        networks = membership_interlocks(in_networks)
        reach = network_reach(in_networks, places).join(
            in_networks.drop_duplicates("network_id").set_index("network_id")["network"])
    else:
        networks, reach = empty, pd.DataFrame(index=pd.Index([], name="network_id"))
    twinning = _ranked(link_reach(twins, places), ["partners"]) if len(twins) else empty
    return Measures(firms, air, networks, reach, twinning, air_links)


def strongest_air_partners(measures: Measures, city_id: str, places: pd.DataFrame,
                           top: int = 10) -> pd.DataFrame:
    links = measures.air_links
    mine = links[(links["city_a"] == city_id) | (links["city_b"] == city_id)]
    partner = np.where(mine["city_a"] == city_id, mine["city_b"], mine["city_a"])
    frame = pd.DataFrame({"city_id": partner, "routes": mine["weight"].to_numpy()})
    frame = frame.join(places[["name", "country"]], on="city_id")
    return frame.sort_values(["routes", "name"], ascending=[False, True]).head(top)
