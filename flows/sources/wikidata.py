"""Wikidata through its SPARQL endpoint: city QIDs, latest dated population, area, membership of
city networks and twinning.

Five SELECT queries, each a text constant of this module, each fetched as one GET URL
(`?format=json&query=...`): the same text always gives the same URL, so a mirror can hold the
answers. Wikidata's limits are kept by the one transport: a descriptive User-Agent, one query
at a time (Wikidata allows five in parallel), a 60 s timeout (the endpoint's own limit), and
retries that honour Retry-After on 429.

Cities are tied to the registry by their GeoNames id (P1566) when it names a registry city,
else by name, country and point as every source is (flows.matching). Their QIDs become aliases
of scheme 'wikidata'. A population is loaded for the year of its point in time (P585); one
without a date cannot be placed in time and is reported, not loaded. An area takes the year of
its P585 when given, else the year of the answer (boundaries change seldom). Memberships and
twinning describe Wikidata as it was answered: they take that year too.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.matching import match_cities
from flows.sources.base import Conformed, Extracted, Registry, Source
from flows.sources.links import distinct_links
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from flows.sources.resolve import city_aliases, unresolved
from flows.sources.sparql import read_results

ENDPOINT = "https://query.wikidata.org/sparql"
ENTITY = "http://www.wikidata.org/entity/"

# Area units by their Wikidata item, as km2 per unit. Others are reported, never guessed.
KM2_PER_UNIT = {
    "Q712226": 1.0,  # square kilometre
    "Q25343": 1e-6,  # square metre
    "Q35852": 0.01,  # hectare
    "Q232291": 2.589988110336,  # square mile
    "Q81292": 0.0040468564224,  # acre
}

# The city networks, by the text Wikidata's own search (labels and aliases) finds each with.
# Their QIDs come from the search, not from this file; where a search finds several items with
# members, the one with most member cities is the network (the others are named in the notes).
NETWORK_SEARCHES = (
    "C40 Cities Climate Leadership Group",
    "ICLEI Local Governments for Sustainability",
    "Eurocities",
    "United Cities and Local Governments",
    "World Association of the Major Metropolises",  # Metropolis
    "Intercultural Cities",
)

# Settlements of 15,000 people or more, as the registry's cities. Every query returns the
# places it names with what resolves them: GeoNames id, label, country, point.
COUNTRIES_QUERY = """
SELECT ?country ?iso2 WHERE {
  ?country wdt:P297 ?iso2 .
}
"""
CITIES_QUERY = """
SELECT ?city ?cityLabel ?country ?location ?geonamesId ?inhabitants ?popDate WHERE {
  ?city wdt:P1082 ?current .
  FILTER(?current >= 15000)
  ?city wdt:P31/wdt:P279* wd:Q486972 ; wdt:P17 ?country ; wdt:P625 ?location .
  OPTIONAL { ?city wdt:P1566 ?geonamesId . }
  OPTIONAL {
    ?city p:P1082 ?statement .
    ?statement ps:P1082 ?inhabitants ; pq:P585 ?popDate ; wikibase:rank ?rank .
    FILTER(?rank != wikibase:DeprecatedRank)
    FILTER NOT EXISTS {
      ?city p:P1082 ?later .
      ?later pq:P585 ?laterDate ; wikibase:rank ?laterRank .
      FILTER(?laterDate > ?popDate && ?laterRank != wikibase:DeprecatedRank)
    }
  }
  SERVICE wikibase:label { bd:serviceParam wikibase:language "en,mul". }
}
"""
AREAS_QUERY = """
SELECT ?city ?cityLabel ?country ?location ?geonamesId ?area ?areaUnit ?areaDate WHERE {
  ?city wdt:P1082 ?current .
  FILTER(?current >= 15000)
  ?city wdt:P31/wdt:P279* wd:Q486972 ; wdt:P17 ?country ; wdt:P625 ?location ;
        p:P2046 ?statement .
  ?statement a wikibase:BestRank ; psv:P2046 ?quantity .
  ?quantity wikibase:quantityAmount ?area ; wikibase:quantityUnit ?areaUnit .
  OPTIONAL { ?statement pq:P585 ?areaDate . }
  OPTIONAL { ?city wdt:P1566 ?geonamesId . }
  SERVICE wikibase:label { bd:serviceParam wikibase:language "en,mul". }
}
"""
NETWORKS_QUERY = """
SELECT ?term ?network ?networkLabel ?ordinal
       ?member ?memberLabel ?memberCountry ?memberLocation ?memberGeonames WHERE {
  VALUES ?term { $searches }
  SERVICE wikibase:mwapi {
    bd:serviceParam wikibase:endpoint "www.wikidata.org" ; wikibase:api "EntitySearch" ;
                    mwapi:search ?term ; mwapi:language "en" ; mwapi:limit "5" .
    ?network wikibase:apiOutputItem mwapi:item .
    ?ordinal wikibase:apiOrdinal true .
  }
  ?member wdt:P463 ?network .
  OPTIONAL { ?member wdt:P17 ?memberCountry . }
  OPTIONAL { ?member wdt:P625 ?memberLocation . }
  OPTIONAL { ?member wdt:P1566 ?memberGeonames . }
  SERVICE wikibase:label { bd:serviceParam wikibase:language "en,mul". }
}
""".replace("$searches", " ".join(json.dumps(term) for term in NETWORK_SEARCHES))
TWINNING_QUERY = """
SELECT ?city ?cityLabel ?cityCountry ?cityLocation ?cityGeonames
       ?twin ?twinLabel ?twinCountry ?twinLocation ?twinGeonames WHERE {
  ?city wdt:P190 ?twin ; wdt:P1082 ?cityPopulation .
  ?twin wdt:P1082 ?twinPopulation .
  FILTER(?cityPopulation >= 15000 && ?twinPopulation >= 15000)
  OPTIONAL { ?city wdt:P17 ?cityCountry . }
  OPTIONAL { ?city wdt:P625 ?cityLocation . }
  OPTIONAL { ?city wdt:P1566 ?cityGeonames . }
  OPTIONAL { ?twin wdt:P17 ?twinCountry . }
  OPTIONAL { ?twin wdt:P625 ?twinLocation . }
  OPTIONAL { ?twin wdt:P1566 ?twinGeonames . }
  SERVICE wikibase:label { bd:serviceParam wikibase:language "en,mul". }
}
"""
QUERIES = {
    "countries": COUNTRIES_QUERY,
    "cities": CITIES_QUERY,
    "areas": AREAS_QUERY,
    "networks": NETWORKS_QUERY,
    "twinning": TWINNING_QUERY,
}
TITLES = {
    "countries": "Wikidata: ISO 3166-1 codes of countries (P297)",
    "cities": "Wikidata: settlements of 15,000+ with GeoNames id and latest dated population",
    "areas": "Wikidata: area of settlements of 15,000+ (P2046)",
    "networks": "Wikidata: members (P463) of city networks",
    "twinning": "Wikidata: twinned settlements of 15,000+ (P190)",
}
# Without these variables a query's bindings cannot be used; the others enrich them (a result
# without ?city still gives names, countries and points).
REQUIRED = {
    "countries": {"country", "iso2"},
    "cities": {"cityLabel", "country", "location", "inhabitants"},
    "areas": {"city", "area", "areaUnit"},
    "networks": {"term", "network", "member"},
    "twinning": {"city", "twin"},
}

INDICATORS = pd.DataFrame(
    [
        (
            "wikidata_population",
            "Population (Wikidata)",
            "persons",
            1,
            "demography",
            "Population of the settlement as Wikidata states it (P1082), the latest value "
            "with a point in time (P585); its year is the period.",
        ),
        (
            "area_km2",
            "Area",
            "km2",
            1,
            "geography",
            "Area of the settlement (Wikidata P2046) in square kilometres; the year of its "
            "point in time (P585), else the year Wikidata was asked.",
        ),
    ],
    columns=["indicator_id", "name", "unit", "direction", "domain", "description"],
)


@dataclass(frozen=True)
class Role:
    """The variables of a query that name and describe one place."""

    item: str
    label: str
    country: str
    location: str
    geonames: str


CITY = Role("city", "cityLabel", "country", "location", "geonamesId")
MEMBER = Role("member", "memberLabel", "memberCountry", "memberLocation", "memberGeonames")
TWIN_A = Role("city", "cityLabel", "cityCountry", "cityLocation", "cityGeonames")
TWIN_B = Role("twin", "twinLabel", "twinCountry", "twinLocation", "twinGeonames")

QID = r"Q[0-9]+"


class ItemRaw(RawModel):
    """One place named by any query: its key is its QID, or its binding when it has none."""

    item: Series[str] = pa.Field(unique=True)
    qid: Series[str] = pa.Field(nullable=True, str_fullmatch=QID)
    label: Series[str] = pa.Field(nullable=True)
    country: Series[str] = pa.Field(nullable=True)
    latitude: Series[float] = pa.Field(nullable=True, ge=-90, le=90)
    longitude: Series[float] = pa.Field(nullable=True, ge=-180, le=180)
    geonames: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[0-9]+(,[0-9]+)*")


class CountryCodeRaw(RawModel):
    country: Series[str] = pa.Field(str_fullmatch=QID)
    iso2: Series[str] = pa.Field(str_fullmatch=r"[A-Z]{2}")


class PopulationRaw(RawModel):
    binding: Series[int] = pa.Field(ge=0)
    item: Series[str]
    value: Series[float] = pa.Field(ge=0, nullable=True)  # a city with no dated population
    date: Series[str] = pa.Field(nullable=True)


class AreaRaw(RawModel):
    binding: Series[int] = pa.Field(ge=0)
    item: Series[str]
    value: Series[float] = pa.Field(gt=0)
    unit: Series[str]
    date: Series[str] = pa.Field(nullable=True)
    as_of: Series[int] = pa.Field(ge=1800, le=2100)


class MembershipRaw(RawModel):
    binding: Series[int] = pa.Field(ge=0)
    term: Series[str]
    network: Series[str] = pa.Field(str_fullmatch=QID)
    network_label: Series[str] = pa.Field(nullable=True)
    ordinal: Series[float] = pa.Field(nullable=True, ge=0)
    member: Series[str]
    as_of: Series[int] = pa.Field(ge=1800, le=2100)


class TwinningRaw(RawModel):
    binding: Series[int] = pa.Field(ge=0)
    city: Series[str]
    twin: Series[str]
    as_of: Series[int] = pa.Field(ge=1800, le=2100)


def query_url(query: str) -> str:
    """The GET URL of a query: deterministic, so a mirror can hold the answer. format=json asks
    for SPARQL 1.1 JSON results as the Accept header would."""
    return f"{ENDPOINT}?{urlencode({'format': 'json', 'query': textwrap.dedent(query).strip()})}"


class Wikidata(Source):
    meta = publisher_of("wikidata")
    raw_models = {"countries": CountryCodeRaw, "items": ItemRaw, "populations": PopulationRaw,
                  "areas": AreaRaw, "memberships": MembershipRaw, "twinnings": TwinningRaw}
    urls = {name: query_url(text) for name, text in QUERIES.items()}

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        results = {
            name: read_results(f"sparql [{name} query]", extracted.files[name], REQUIRED[name],
                               ENTITY)
            for name in QUERIES
        }
        # Memberships, twinning and undated areas describe Wikidata as it was answered.
        as_of = {name: extracted.stated_year(name) for name in QUERIES}
        cities, areas = results["cities"], results["areas"]
        networks, twinning = results["networks"], results["twinning"]
        items = _items(
            [
                _described(cities, CITY, "cities"),
                _described(areas, CITY, "areas"),
                _described(networks, MEMBER, "networks"),
                _described(twinning, TWIN_A, "twinning"),
                _described(twinning, TWIN_B, "twinning"),
            ]
        )
        datasets = [self.dataset(extracted, name, TITLES[name]) for name in QUERIES]
        return {
            "datasets": self.datasets_frame(datasets),
            "countries": results["countries"][["country", "iso2"]],
            "items": items,
            "populations": pd.DataFrame(
                {
                    "binding": cities.index,
                    "item": _keys(cities, "city", "cities"),
                    "value": cities["inhabitants"],
                    "date": cities.get("popDate"),
                }
            ),
            "areas": pd.DataFrame(
                {
                    "binding": areas.index,
                    "item": _keys(areas, "city", "areas"),
                    "value": areas["area"],
                    "unit": areas["areaUnit"],
                    "date": areas.get("areaDate"),
                    "as_of": as_of["areas"],
                }
            ),
            "memberships": pd.DataFrame(
                {
                    "binding": networks.index,
                    "term": networks["term"],
                    "network": networks["network"],
                    "network_label": networks.get("networkLabel"),
                    "ordinal": networks.get("ordinal"),
                    "member": _keys(networks, "member", "networks"),
                    "as_of": as_of["networks"],
                }
            ),
            "twinnings": pd.DataFrame(
                {
                    "binding": twinning.index,
                    "city": _keys(twinning, "city", "twinning"),
                    "twin": _keys(twinning, "twin", "twinning"),
                    "as_of": as_of["twinning"],
                }
            ),
        }

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        return self.conformed(raw, INDICATORS, **_Conformer(self.meta.source_id, raw,
                                                            registry).run())


def _keys(frame: pd.DataFrame, variable: str, query: str) -> pd.Series:
    """The QID of each binding's place, or '<query>#<binding>' when the result has none."""
    own = pd.Series([f"{query}#{i}" for i in frame.index], index=frame.index, dtype=object)
    if variable not in frame:
        return own
    return frame[variable].where(frame[variable].notna(), own)


def _described(frame: pd.DataFrame, role: Role, query: str) -> pd.DataFrame:
    def column(name: str) -> pd.Series:
        return frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)

    points = column(role.location)
    qid = column(role.item)
    return pd.DataFrame(
        {
            "item": _keys(frame, role.item, query),
            "qid": qid.where(qid.astype(str).str.match(QID), None),
            "label": column(role.label),
            "country": column(role.country),
            "latitude": [p[1] if isinstance(p, tuple) else np.nan for p in points],
            "longitude": [p[0] if isinstance(p, tuple) else np.nan for p in points],
            "geonames": column(role.geonames),
        }
    )


def _items(described: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per place: the first label, country and point any query gave it, and every
    GeoNames id (a place may have several P1566 values, each in its own binding)."""
    rows = pd.concat(described, ignore_index=True)
    geonames = (
        rows.dropna(subset=["geonames"])
        .groupby("item")["geonames"]
        .agg(lambda ids: ",".join(sorted(set(map(str, ids)))))
    )
    first = rows.drop(columns="geonames").groupby("item", sort=True).first()
    return first.join(geonames).reset_index()


# --- from the answers to the canonical model ----------------------------------------------------


class _Conformer:
    """Resolves the places the answers need, then turns each answer into its rows, counting
    where every binding went (the notes)."""

    def __init__(self, source_id: str, raw: dict[str, pd.DataFrame], registry: Registry):
        self.source_id, self.raw, self.registry = source_id, raw, registry
        self.reports: list[pd.DataFrame] = []  # key, name, status, reason
        self.notes: list[str] = []
        self.items = raw["items"].set_index("item")

    def run(self) -> dict[str, pd.DataFrame | list[str]]:
        """The canonical frames (but the datasets and indicators), and the notes."""
        populations = self._usable_populations()
        areas = self._usable_areas()
        memberships, twinnings = self.raw["memberships"], self.raw["twinnings"]
        needed = pd.concat(
            [
                self.items.index[self.items["qid"].notna()].to_series(),
                populations[0]["item"],
                areas[0]["item"],
                memberships["member"],
                twinnings["city"],
                twinnings["twin"],
            ]
        ).unique()
        self.resolved = self._resolve(pd.Index(needed))
        observation = pd.concat(
            [
                self._observations(populations, "wikidata_population", "cities"),
                self._observations(areas, "area_km2", "areas"),
            ],
            ignore_index=True,
        )
        network, membership = self._networks(memberships)
        unresolved = pd.concat([self._unresolved_places(), *self.reports], ignore_index=True)
        return {
            "observation": observation,
            "network": network,
            "membership": membership,
            "city_link": self._twinning(twinnings),
            "city_alias": self._aliases(),
            "unresolved": unresolved[["key", "name", "status", "reason"]],
            "notes": self.notes,
        }

    # places ------------------------------------------------------------------------------

    def _resolve(self, needed: pd.Index) -> pd.DataFrame:
        """city_id, method, confidence, status, reason for every place needed."""
        items = self.items.reindex(needed)
        cities = set(self.registry.cities["city_id"])
        by_id = [
            sorted({f"gn:{g}" for g in ids.split(",")} & cities) if isinstance(ids, str) else []
            for ids in items["geonames"]
        ]
        crosswalked = pd.Series([len(found) == 1 for found in by_id], index=items.index)
        verdicts = pd.DataFrame(
            {
                "city_id": [found[0] if len(found) == 1 else None for found in by_id],
                "method": np.where(crosswalked, "geonames id (P1566)", None),
                "confidence": np.where(crosswalked, 1.0, 0.0),
                "status": np.where(crosswalked, "matched", "unmatched"),
                "reason": np.where(crosswalked, "GeoNames id of a registry city", ""),
            },
            index=items.index,
        )
        rest = items[~crosswalked]
        iso2 = self.raw["countries"].drop_duplicates("country").set_index("country")["iso2"]
        records = pd.DataFrame(
            {
                "key": rest.index,
                "name": rest["label"].to_numpy(),
                "country": rest["country"].map(iso2).to_numpy(),
                "latitude": rest["latitude"].to_numpy(float),
                "longitude": rest["longitude"].to_numpy(float),
            }
        )
        usable = records["name"].notna() & records["country"].notna()
        if usable.any():
            matched = match_cities(
                records[usable], self.registry.cities, self.registry.aliases
            ).set_index("key")
            verdicts.loc[matched.index, list(matched.columns)] = matched
        unlabelled = records["key"][records["name"].isna()]
        stateless = records["key"][records["name"].notna() & records["country"].isna()]
        verdicts.loc[unlabelled, "reason"] = "no label to match by"
        verdicts.loc[stateless, "reason"] = "no country with an ISO code (P297)"
        stray = rest.index[rest["geonames"].notna()]
        verdicts.loc[stray, "reason"] = (
            "GeoNames id " + rest.loc[stray, "geonames"] + " is no registry city; "
            + verdicts.loc[stray, "reason"].astype(str)
        )
        return verdicts

    def _place_of(self, keys: pd.Series) -> pd.DataFrame:
        """The verdict on each key's place, aligned with `keys`; city_id only when matched."""
        found = self.resolved.reindex(keys.to_numpy()).set_axis(keys.index)
        return found.assign(city_id=found["city_id"].where(found["status"] == "matched"))

    def _unresolved_places(self) -> pd.DataFrame:
        bad = self.resolved[self.resolved["status"] != "matched"]
        return unresolved(bad.index, self.items["label"].reindex(bad.index).fillna("").to_numpy(),
                          bad["status"].to_numpy(), bad["reason"].to_numpy())

    def _aliases(self) -> pd.DataFrame:
        qid = self.items["qid"].reindex(self.resolved.index)
        ok = (self.resolved["status"] == "matched") & qid.notna()
        tied = self.resolved[ok].astype({"confidence": float})
        return city_aliases("wikidata", qid[ok], tied, self.source_id).reset_index(drop=True)

    # facts -------------------------------------------------------------------------------

    def _report(self, frame: pd.DataFrame, status: str, reason: pd.Series | str) -> None:
        if frame.empty:
            return
        self.reports.append(unresolved(
            frame["item"].to_numpy(),
            self.items["label"].reindex(frame["item"]).fillna("").to_numpy(), status,
            reason if isinstance(reason, str) else reason.to_numpy(),
        ))

    def _usable_populations(self) -> tuple[pd.DataFrame, dict[str, int]]:
        """Populations that have a year; the others counted (by binding) and reported."""
        facts = self.raw["populations"]
        given = facts["value"].notna()
        undated = given & facts["date"].isna()
        self._report(
            facts[undated], "no date", "population without a point in time (P585): no period"
        )
        dated = facts[given & ~undated]
        counts = {
            "bindings": len(facts),
            "without a population (the place alone)": int((~given).sum()),
            "undated": int(undated.sum()),
        }
        return dated.assign(period=dated["date"].str[:4].astype(int)), counts

    def _usable_areas(self) -> tuple[pd.DataFrame, dict[str, int]]:
        """Areas in km2 with their year; those in a unit not known here counted and reported."""
        facts = self.raw["areas"]
        factor = facts["unit"].map(KM2_PER_UNIT)
        unknown = factor.isna()
        self._report(facts[unknown], "unknown unit", "area in unit " + facts["unit"][unknown])
        # Rounded to the square metre, so one area stated in two units is one value.
        known = facts[~unknown].assign(value=(facts["value"] * factor).round(6))
        year = known["date"].str[:4]
        known = known.assign(
            date=known["date"].fillna(""),
            period=year.where(year.notna(), known["as_of"].astype(str)).astype(int),
        )
        return known, {"bindings": len(facts), "in an unknown unit": int(unknown.sum())}

    def _observations(
        self, usable: tuple[pd.DataFrame, dict[str, int]], indicator: str, dataset: str
    ) -> pd.DataFrame:
        """Per place, the value of its latest date; two different values for that date are
        reported, not chosen between."""
        facts, counts = usable
        latest = facts[facts["date"] == facts.groupby("item")["date"].transform("max")]
        counts["superseded by a later date"] = len(facts) - len(latest)
        distinct = latest.drop_duplicates(["item", "date", "value"])
        counts["repeated"] = len(latest) - len(distinct)
        conflicting = distinct["item"].duplicated(keep=False)
        self._report(
            distinct[conflicting],
            "conflicting",
            "another value has the same date: " + distinct.loc[conflicting, "value"].astype(str),
        )
        counts["conflicting"] = int(conflicting.sum())
        place = self._place_of(distinct.loc[~conflicting, "item"])
        counts["of places not resolved"] = int(place["city_id"].isna().sum())
        rows = distinct[~conflicting].assign(
            city_id=place["city_id"], confidence=place["confidence"]
        ).dropna(subset=["city_id"])
        # Two places resolving to one city (a city and its municipality) would give it two
        # values for one year: the more confident tie is kept, the other reported.
        rows = rows.sort_values("confidence", ascending=False, kind="stable")
        twice = rows.duplicated(["city_id", "period"])
        self._report(
            rows[twice],
            "duplicate",
            "another place already gives " + rows.loc[twice, "city_id"] + " a value for "
            + rows.loc[twice, "period"].astype(str),
        )
        counts["duplicate"] = int(twice.sum())
        rows = rows[~twice].sort_index()
        self._tally(dataset, counts, len(rows), "loaded")
        return pd.DataFrame(
            {
                "city_id": rows["city_id"],
                "indicator_id": indicator,
                "period": rows["period"],
                "source_id": self.source_id,
                "dataset_id": dataset,
                "value": rows["value"].astype(float),
                "flag": None,
            }
        )

    def _tally(self, dataset: str, counts: dict[str, int], kept: int, what: str) -> None:
        parts = [f", {n:,} {name}" for name, n in counts.items() if name != "bindings" and n]
        self.notes.append(f"{dataset}: {counts['bindings']:,} bindings: {kept:,} {what}"
                          + "".join(parts))

    def _networks(self, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        rows = rows.assign(city_id=self._place_of(rows["member"])["city_id"])
        counts = (
            rows.groupby(["term", "network"])
            .agg(cities=("city_id", "nunique"), ordinal=("ordinal", "min"))
            .reset_index()
            .sort_values(["term", "cities", "ordinal"], ascending=[True, False, True])
        )
        chosen = counts[counts["cities"] > 0].drop_duplicates("term")
        for term, others in counts[~counts.index.isin(chosen.index)].groupby("term"):
            self.notes.append(
                f"networks: for {term!r} other items with members were not taken: "
                + ", ".join(others["network"])
            )
        for term in sorted(set(NETWORK_SEARCHES) - set(chosen["term"])):
            self.notes.append(f"networks: no item with member cities found for {term!r}")
        taken = rows[rows["network"].isin(chosen["network"])]
        resolved = taken.dropna(subset=["city_id"])
        members = resolved.drop_duplicates(["network", "city_id"])
        self._tally(
            "networks",
            {
                "bindings": len(rows),
                "of items not taken as the network": len(rows) - len(taken),
                "of members not resolved": len(taken) - len(resolved),
                "repeated": len(resolved) - len(members),
            },
            len(members),
            "memberships",
        )
        labels = taken.groupby("network")["network_label"].first()
        network = pd.DataFrame(
            {
                "network_id": "wikidata:" + labels.index,
                "kind": "city-network",
                "name": labels.where(labels.notna(), labels.index).to_numpy(),
                "sector": None,
                "wikidata_qid": labels.index,
                "source_id": self.source_id,
            }
        )
        membership = pd.DataFrame(
            {
                "network_id": "wikidata:" + members["network"],
                "city_id": members["city_id"],
                "period": members["as_of"],
                "value": 1.0,
                "source_id": self.source_id,
                "dataset_id": "networks",
            }
        )
        return network, membership

    def _twinning(self, rows: pd.DataFrame) -> pd.DataFrame:
        first = self._place_of(rows["city"])["city_id"]
        second = self._place_of(rows["twin"])["city_id"]
        ok = first.notna() & second.notna()
        found = distinct_links(first[ok], second[ok], period=rows.loc[ok, "as_of"])
        self._tally(
            "twinning",
            {
                "bindings": len(rows),
                "with a side not resolved": int((~ok).sum()),
                "of a city with itself": found.self_links,
                "repeated (both directions)": found.repeats,
            },
            len(found.links),
            "links",
        )
        return found.links.assign(
            kind="twinning", weight=1.0, source_id=self.source_id, dataset_id="twinning"
        )
