"""OpenFlights airports and airline routes: which cities are tied by air, and how strongly.

Airports are grouped into the cities they serve (the airport's city name, country and
coordinates resolved like any city record); routes between airports become undirected links
between cities, weighted by the number of airline routes. The route database is a snapshot:
openflights.org/data.php says its third-party route data "ceased providing updates in June
2014" and that "as of June 2014" it holds 67,663 routes, as routes.dat does. Links carry 2014.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.matching import MatchRules
from flows.sources.base import Conformed, Extracted, Registry, Source
from flows.sources.links import undirected
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from flows.sources.resolve import (
    city_aliases,
    country_codes,
    match_anywhere,
    to_iso2,
    unresolved,
)
from warehouse.csv_records import STRAY_BYTE_SHARE, read_csv_records

REPOSITORY = "https://raw.githubusercontent.com/jpatokal/openflights/master/data/"
AIRPORTS, ROUTES, COUNTRIES = "airports.dat", "routes.dat", "countries.dat"
ROUTES_YEAR = 2014
NULL = "\\N"  # OpenFlights' null; an empty field is missing too
# Columns as openflights.org/data.php documents them (the files have no header).
AIRPORT_COLUMNS = ["airport_id", "name", "city", "country", "iata", "icao", "latitude",
                   "longitude", "altitude", "timezone", "dst", "tz_database", "type", "source"]
ROUTE_COLUMNS = ["airline", "airline_id", "source_code", "source_id", "destination_code",
                 "destination_id", "codeshare", "stops", "equipment"]
COUNTRY_COLUMNS = ["name", "iso2", "dafif_code"]
TITLES = {  # file -> dataset id, title
    AIRPORTS: ("openflights-airports", "OpenFlights airports"),
    ROUTES: ("openflights-routes", "OpenFlights airline routes (June 2014)"),
    COUNTRIES: ("openflights-countries", "OpenFlights country names and ISO codes"),
}
# Country names airports.dat uses that neither countries.dat nor GeoNames lists.
OTHER_COUNTRY_NAMES = {
    "Burma": "MM", "Cape Verde": "CV", "Congo (Brazzaville)": "CG", "Congo (Kinshasa)": "CD",
    "East Timor": "TL", "Macau": "MO", "Svalbard": "SJ", "Swaziland": "SZ",
    "Virgin Islands": "VI", "West Bank": "PS", "Johnston Atoll": "UM", "Midway Islands": "UM",
    "Wake Island": "UM",
}


# An airport bears the name of the city it serves, often far out of town (Narita, 63 km from
# Tokyo's centre; Stansted 50 km from London's): a city of that name is looked for within
# 100 km of the airport, where an agglomeration's point is looked for within 60.
AIRPORT_RULES = MatchRules(name_radius_km=100.0)

class AirportRaw(RawModel):
    line: Series[int] = pa.Field(gt=0)
    airport_id: Series[str] = pa.Field(str_fullmatch=r"[1-9][0-9]*", unique=True)
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    city: Series[str] = pa.Field(nullable=True)
    country: Series[str] = pa.Field(str_length={"min_value": 1})
    iata: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[A-Z0-9]{3}")
    icao: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[A-Z0-9]{4}")
    latitude: Series[float] = pa.Field(ge=-90, le=90)
    longitude: Series[float] = pa.Field(ge=-180, le=180)


class RouteRaw(RawModel):
    line: Series[int] = pa.Field(gt=0)
    airline: Series[str] = pa.Field(str_length={"min_value": 1})
    source_code: Series[str] = pa.Field(str_fullmatch=r"[A-Z0-9]{3,4}")
    source_id: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[1-9][0-9]*")
    destination_code: Series[str] = pa.Field(str_fullmatch=r"[A-Z0-9]{3,4}")
    destination_id: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[1-9][0-9]*")
    codeshare: Series[str] = pa.Field(nullable=True, isin=["Y"])
    stops: Series[str] = pa.Field(str_fullmatch=r"[0-9]+")


class CountryRaw(RawModel):
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    iso2: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[A-Z]{2}")


class OpenFlights(Source):
    meta = publisher_of("openflights")
    raw_models = {"airports": AirportRaw, "routes": RouteRaw, "countries": CountryRaw}
    urls = {f: REPOSITORY + f for f in (AIRPORTS, ROUTES, COUNTRIES)}

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        datasets = [self.dataset(extracted, file, title, dataset_id)
                    for file, (dataset_id, title) in TITLES.items()]
        return {
            "datasets": self.datasets_frame(datasets),
            "airports": _table(extracted.files[AIRPORTS], AIRPORTS, AIRPORT_COLUMNS),
            "routes": _table(extracted.files[ROUTES], ROUTES, ROUTE_COLUMNS),
            "countries": _table(extracted.files[COUNTRIES], COUNTRIES, COUNTRY_COLUMNS),
        }

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        source_id = self.meta.source_id
        airports = resolve_airports(raw["airports"], raw["countries"], registry)
        routes = route_fates(raw["routes"], airports)
        # Weight: every route line counts once. OpenFlights lists a route per airline and per
        # direction (A-B and B-A are two lines) and lists codeshares as lines of the marketing
        # airline, so the weight is the number of airline-direction services between the two
        # cities, as OpenFlights lists them. Both directions add to one undirected link.
        linked = routes[routes["fate"] == "link"]
        pairs = undirected(linked["source_city"], linked["destination_city"])
        weights = pairs.value_counts().rename("weight").reset_index()
        city_link = weights.assign(
            kind="air-route", period=ROUTES_YEAR, weight=weights["weight"].astype(float),
            source_id=source_id, dataset_id="openflights-routes",
        )
        coded = airports[(airports["status"] == "matched") & airports["iata"].notna()]
        city_alias = city_aliases("iata", coded["iata"], coded, source_id).drop_duplicates(
            ["alias", "city_id"])
        unresolved = _unresolved(routes, airports)
        fates = routes["fate"].value_counts()
        return self.conformed(
            raw,
            city_link=city_link,
            city_alias=city_alias,
            unresolved=unresolved,
            # the unresolved share counts the airports routes use (and the route ends of no
            # known airport), not every airport of the file nor every route
            records=int(pd.concat([routes["source"], routes["destination"]]).nunique()
                        + (unresolved["status"] == "unknown airport").sum()),
            notes=[
                f"{int((airports['status'] == 'matched').sum()):,} of {len(airports):,} "
                f"airports resolved to cities",
                f"{len(routes):,} routes: {fates.get('link', 0):,} between two cities "
                f"({len(city_link):,} links), {fates.get('self-link', 0):,} within one city, "
                f"{fates.get('lost', 0):,} with an airport not tied to a city "
                f"({len(unresolved):,} airports reported)",
            ],
        )


def resolve_airports(airports: pd.DataFrame, countries: pd.DataFrame,
                     registry: Registry) -> pd.DataFrame:
    """Airports by id with the city each serves (city_id only where matched) and the verdict."""
    airports = airports.astype({"airport_id": int})
    airports = airports.set_index("airport_id")
    verdicts = _resolve(airports, countries, registry)
    airports = airports.join(verdicts[["city_id", "method", "confidence", "status", "reason"]])
    airports.loc[airports["status"] != "matched", "city_id"] = None
    return airports


def route_fates(routes: pd.DataFrame, airports: pd.DataFrame) -> pd.DataFrame:
    """Each route with its airports, their cities, and what it becomes: a 'link' between two
    cities, a 'self-link' within one (dropped), or 'lost' (an end tied to no city)."""
    routes = routes.astype({"source_id": "Int64", "destination_id": "Int64"})
    routes = routes.assign(
        source=_airport_of(routes, "source", airports),
        destination=_airport_of(routes, "destination", airports),
    )
    routes["source_city"] = routes["source"].map(airports["city_id"])
    routes["destination_city"] = routes["destination"].map(airports["city_id"])
    both = routes["source_city"].notna() & routes["destination_city"].notna()
    same = routes["source_city"] == routes["destination_city"]
    routes["fate"] = np.select([both & ~same, both & same], ["link", "self-link"], "lost")
    return routes


def _table(content: bytes, file: str, columns: list[str]) -> pd.DataFrame:
    # OpenFlights ends every line: a last line without an end is a download cut short.
    records = read_csv_records(content, file, stray_bytes=STRAY_BYTE_SHARE, final_line_end=True,
                               width=len(columns), delimiter=",")
    table = pd.DataFrame(records.rows, columns=columns, dtype=object)
    table = table.where(~table.isin([NULL, ""]), None)
    table.insert(0, "line", records.lines)
    return table


def _resolve(airports: pd.DataFrame, countries: pd.DataFrame,
             registry: Registry) -> pd.DataFrame:
    """One verdict per airport (by airport id): the city it names, in its country, near it."""
    names = {
        **OTHER_COUNTRY_NAMES,
        **dict(zip(countries["name"], countries["iso2"], strict=True)),
    }
    lookup = country_codes(registry.countries, {k: v for k, v in names.items() if pd.notna(v)})
    records = pd.DataFrame({
        "key": airports.index,
        "name": airports["city"].fillna(""),
        "country": to_iso2(airports["country"], lookup),
        "latitude": airports["latitude"],
        "longitude": airports["longitude"],
    })
    return match_anywhere(records, registry, rules=AIRPORT_RULES).set_index("key")


def _airport_of(routes: pd.DataFrame, end: str, airports: pd.DataFrame) -> pd.Series:
    """The airport id of a route's end: OpenFlights' id, or, where it has none, the airport
    that bears the route's IATA or ICAO code."""
    by_code = pd.concat([
        airports["iata"].dropna().reset_index().drop_duplicates("iata", keep=False)
        .set_index("iata")["airport_id"],
        airports["icao"].dropna().reset_index().drop_duplicates("icao", keep=False)
        .set_index("icao")["airport_id"],
    ])
    known = routes[f"{end}_id"].where(routes[f"{end}_id"].isin(airports.index))
    return known.fillna(routes[f"{end}_code"].map(by_code)).astype("Int64")


def _unresolved(routes: pd.DataFrame, airports: pd.DataFrame) -> pd.DataFrame:
    """Airports routes use that could not be tied to a city, and route ends not in airports.dat:
    the routes through them are lost, so each is reported (airports no route uses are not)."""
    used = pd.concat([routes["source"], routes["destination"]]).dropna().unique()
    lost = airports.loc[airports.index.isin(used) & (airports["status"] != "matched")]
    unknown = pd.concat([
        routes.loc[routes["source"].isna(), "source_code"],
        routes.loc[routes["destination"].isna(), "destination_code"],
    ]).value_counts()
    code = lost["iata"].fillna(lost["icao"]).fillna("no code")
    return pd.concat([
        unresolved("airport " + lost.index.astype(str),
                   lost["city"].fillna(lost["name"]) + ", " + lost["country"] + " (" + code + ")",
                   lost["status"], lost["reason"]),
        unresolved("code " + unknown.index, unknown.index, "unknown airport",
                   f"no valid airport of {AIRPORTS} has this id or code; used by "
                   + unknown.astype(str) + " route end(s)"),
    ], ignore_index=True)
