"""The network measures of each city, as indicators: what the refresh stores as observations
(flows/steps.py `measure_networks`) so that frameworks, peers and rankings can use them.

Four families, each computed only from its own input; a city (or a whole family) without that
input has no value, never 0:

- air (OpenFlights routes: links of kind 'air-route'): cities served directly, airline routes,
  share of routes abroad, countries and continents reached, betweenness, eigenvector;
- twinning (links of kind 'twinning'): partner cities, their countries and continents;
- memberships (of city networks): distinct networks, cities reached through them;
- firms (one service-value matrix at a time): GNC, share of the top, tier.

Every function takes frames and returns the long frame the observation table holds: city_id,
indicator_id, value (the caller adds period and dataset). `INDICATORS` is their metadata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.network import interlocking, tiers
from indicators.network.links import air_network, link_reach, membership_interlocks

AIR, TWINNING, MEMBERSHIPS, FIRMS = "air", "twinning", "memberships", "firms"
_SNAPSHOT = ("From OpenFlights' route file, whose last update is its 2014 snapshot (routes "
             "then operated; the data set is no longer maintained).")
_OWN_TWINS = ("Counts the city's own twinnings only: a pair listed for a district or suburb "
              "that the registry folds into the city (Montreuil, Vincennes into Paris) is left "
              "out, so its twins are not credited to the city.")
# firm_tier: the tier names of indicators.network.tiers, coded so that higher is better
TIER_CODES = {name: len(tiers.GAWC_TIERS) - i for i, name in enumerate(tiers.GAWC_TIERS)}

# id: (family, name, unit, direction, description)
_DEFINITIONS = {
    "air_destinations": (AIR, "Air: cities served directly", "cities", 1,
                         "Cities reached by a direct airline route. " + _SNAPSHOT),
    "air_routes": (AIR, "Air: airline routes", "routes", 1,
                   "Airline routes to and from the city (each airline on each city pair "
                   "counts once; the weighted degree). " + _SNAPSHOT),
    "air_share_abroad": (AIR, "Air: share of routes abroad", "share (0-1)", 1,
                         "Share of the city's airline routes that go to a city of another "
                         "country. " + _SNAPSHOT),
    "air_countries": (AIR, "Air: countries reached directly", "countries", 1,
                      "Countries (its own included) of the cities served directly. "
                      + _SNAPSHOT),
    "air_continents": (AIR, "Air: continents reached directly", "continents", 1,
                       "Continents (its own included) of the cities served directly. "
                       + _SNAPSHOT),
    "air_betweenness": (AIR, "Air: betweenness centrality", "share (0-1)", 1,
                        "Share of the shortest connections (fewest flights) between two other "
                        "cities of the air network that change planes here, each counted "
                        "1 / (number of shortest connections). " + _SNAPSHOT),
    "air_eigenvector": (AIR, "Air: eigenvector centrality", "share of the top (0-1)", 1,
                        "Eigenvector centrality on route counts, 1 for the most central city: "
                        "tied to cities that are themselves well tied. " + _SNAPSHOT),
    "twin_partners": (TWINNING, "Twinning: partner cities", "cities", 1,
                      "Twin towns and sister cities (Wikipedia's lists, Wikidata). "
                      + _OWN_TWINS),
    "twin_countries": (TWINNING, "Twinning: countries reached", "countries", 1,
                       "Countries of the city's twin towns (its own included). " + _OWN_TWINS),
    "twin_continents": (TWINNING, "Twinning: continents reached", "continents", 1,
                        "Continents of the city's twin towns (its own included). "
                        + _OWN_TWINS),
    "network_memberships": (MEMBERSHIPS, "City networks: memberships", "networks", 1,
                            "Distinct city networks (C40, ICLEI, the Covenant of Mayors ...) "
                            "the city is listed in, each counted once whatever the number of "
                            "its editions or the sources listing it."),
    "network_partners": (MEMBERSHIPS, "City networks: partner cities", "cities", 1,
                         "Cities that share at least one city network with the city."),
    "firm_gnc": (FIRMS, "Firms: global network connectivity", "interlocks", 1,
                 "Taylor's global network connectivity in one service-value matrix: the sum "
                 "over the other cities and the firms of the products of service values. "
                 "Comparable only among the cities of the same matrix (the dataset names it "
                 "and how many cities it has)."),
    "firm_gnc_share": (FIRMS, "Firms: connectivity as a share of the top", "share (0-1)", 1,
                       "Global network connectivity as a share of the most connected city of "
                       "the same service-value matrix."),
    "firm_tier": (FIRMS, "Firms: tier", "tier (12 = Alpha++ ... 1 = Sufficiency, 0 = none)", 1,
                  "The tier of the city's share of the top connectivity in its matrix, coded "
                  + ", ".join(f"{code} {name}" for name, code in TIER_CODES.items())
                  + ", 0 below 5% of the top (bounds in indicators/network/tiers.py)."),
}

INDICATORS = pd.DataFrame(
    [(i, name, unit, direction, "networks", description, family)
     for i, (family, name, unit, direction, description) in _DEFINITIONS.items()],
    columns=["indicator_id", "name", "unit", "direction", "domain", "description", "family"],
)

_AIR_COLUMNS = {"partners": "air_destinations", "weighted_degree": "air_routes",
                "international_share": "air_share_abroad", "countries": "air_countries",
                "continents": "air_continents", "betweenness": "air_betweenness",
                "eigenvector": "air_eigenvector"}
_TWIN_COLUMNS = {"partners": "twin_partners", "countries": "twin_countries",
                 "continents": "twin_continents"}
_MEMBER_COLUMNS = {"memberships": "network_memberships", "partners": "network_partners"}


def _long(wide: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """city_id, indicator_id, value of the wide frame's columns (indexed by city); a missing
    value stays absent."""
    frame = wide[list(columns)].rename(columns=columns).rename_axis("city_id").reset_index()
    long = frame.melt(id_vars="city_id", var_name="indicator_id", value_name="value")
    return long.dropna(subset=["value"]).astype({"value": float}).reset_index(drop=True)


def air_measures(links: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """links: city_a, city_b, weight (routes); places: country, continent by city id."""
    if links.empty:
        return _long(pd.DataFrame(columns=list(_AIR_COLUMNS)), _AIR_COLUMNS)
    return _long(air_network(links, places), _AIR_COLUMNS)


def twinning_measures(links: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    if links.empty:
        return _long(pd.DataFrame(columns=list(_TWIN_COLUMNS)), _TWIN_COLUMNS)
    return _long(link_reach(links, places), _TWIN_COLUMNS)


def membership_measures(members: pd.DataFrame) -> pd.DataFrame:
    """members: network (a network's identity, e.g. its readable name: a network listed by
    several sources or editions counts once), city_id."""
    if members.empty:
        return _long(pd.DataFrame(columns=list(_MEMBER_COLUMNS)), _MEMBER_COLUMNS)
    pairs = members[["network", "city_id"]].drop_duplicates().rename(
        columns={"network": "network_id"})
    return _long(membership_interlocks(pairs), _MEMBER_COLUMNS)


def firm_measures(cells: pd.DataFrame) -> pd.DataFrame:
    """cells of one service-value matrix: network_id (the firm), city_id, value."""
    matrix = cells.pivot_table(index="city_id", columns="network_id", values="value",
                               aggfunc="max", fill_value=0.0)
    gnc = interlocking.connectivity(matrix)
    tier = tiers.classify(gnc).map(TIER_CODES).fillna(0).to_numpy()
    wide = pd.DataFrame({"gnc": gnc, "share": interlocking.proportional(gnc), "tier": tier},
                        index=matrix.index)
    return _long(wide, {"gnc": "firm_gnc", "share": "firm_gnc_share", "tier": "firm_tier"})


def family_of(indicator_ids: pd.Series) -> pd.Series:
    return indicator_ids.map(INDICATORS.set_index("indicator_id")["family"])


def tier_name(code: float) -> str | None:
    """The tier a firm_tier value codes (None for 0)."""
    names = {code: name for name, code in TIER_CODES.items()}
    return names.get(int(code)) if np.isfinite(code) else None
