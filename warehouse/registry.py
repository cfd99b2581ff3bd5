"""The registry as a source's records resolve against it: cities, their names and codes,
countries, and the indicators defined so far."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from warehouse.connect import Connection


@dataclass(frozen=True)
class Registry:
    """The canonical cities a source's records resolve to, as the staging warehouse has them."""

    cities: pd.DataFrame  # city_id, name, country_iso2, latitude, longitude, population
    # alias, city_id (names only); folded: the name is a district's or suburb's the registry
    # folded into the city, not one of the city's own names
    aliases: pd.DataFrame
    countries: pd.DataFrame  # iso2, iso3, iso_numeric, name
    # crosswalks of codes held so far (GeoNames ids of folded districts, Eurostat codes, ...):
    # scheme, alias, city_id, confidence
    codes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["scheme", "alias", "city_id", "confidence"])
    )
    # indicators defined so far: indicator_id, unit, domain, source_id
    indicators: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["indicator_id", "unit", "domain", "source_id"]
        )
    )


def read_registry(con: Connection) -> Registry:
    """The registry as a warehouse (a connection to it) holds it."""
    return Registry(
        cities=con.execute(
            # admin1: the state, which tells US namesakes apart ("Rochester (New York)")
            "SELECT city_id, name, country_iso2, admin1, latitude, longitude, population "
            "FROM city ORDER BY city_id"
        ).df(),
        aliases=con.execute(
            "SELECT alias, city_id, method = 'district-fold' AS folded FROM city_alias "
            "WHERE scheme = 'name'"
        ).df(),
        countries=con.execute("SELECT iso2, iso3, iso_numeric, name FROM country").df(),
        codes=con.execute(
            "SELECT scheme, alias, city_id, confidence FROM city_alias WHERE scheme <> 'name'"
        ).df(),
        indicators=con.execute("SELECT indicator_id, unit, domain, source_id FROM indicator").df(),
    )
