"""World Bank Indicators API v2: the country context of every city.

GDP per capita (NY.GDP.PCAP.CD), population (SP.POP.TOTL) and the income group of each
country, given to each city of that country as observations of their own indicators
(country_gdp_per_capita, ...): context for comparing cities across countries, never a
measure of the city itself.

The API answers in pages, `[metadata {page, pages, per_page, total, lastupdated}, [records]]`
(https://datahelpdesk.worldbank.org/knowledgebase/articles/898581). Page 1 says how many pages
there are; every page must agree with it, or the source fails naming the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.sources.base import Conformed, Extracted, ParseError, Registry, Source
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from flows.sources.resolve import unresolved as reported
from flows.transport import FetchFailed, Transport
from warehouse.json_document import read_json

API = "https://api.worldbank.org/v2"
GDP_PER_CAPITA = "NY.GDP.PCAP.CD"
POPULATION = "SP.POP.TOTL"
COUNTRIES = "country"
# The series go back to 1960; given to every city they would be tens of millions of rows.
# Ten years is what a comparison of cities uses (latest value, recent trend).
YEARS_KEPT = 10
# The income classification as an ordinal: comparable across countries and usable in scores;
# 'INX' (not classified) gets no value.
INCOME_RANK = {"LIC": 1, "LMC": 2, "UMC": 3, "HIC": 4}
# The World Bank lists regional and income aggregates (World, Euro area, ...) among its
# "countries"; they carry the region id "NA", value "Aggregates".
AGGREGATE_REGION = "NA"

INDICATORS = pd.DataFrame(
    [
        (
            "country_gdp_per_capita",
            "Country GDP per capita",
            "current US$",
            1,
            "country context",
            "GDP per capita of the city's country (World Bank NY.GDP.PCAP.CD, current US$): "
            "the country's value, given to each of its cities, not the city's own.",
        ),
        (
            "country_population",
            "Country population",
            "persons",
            1,
            "country context",
            "Population of the city's country (World Bank SP.POP.TOTL): the country's value, "
            "given to each of its cities, not the city's own.",
        ),
        (
            "country_income_group",
            "Country income group",
            "1-4 (low to high income)",
            1,
            "country context",
            "World Bank income group of the city's country, as an ordinal: 1 low, 2 lower-"
            "middle, 3 upper-middle, 4 high income (by GNI per capita). The classification in "
            "force when retrieved, dated by that year; unclassified countries have no value.",
        ),
    ],
    columns=["indicator_id", "name", "unit", "direction", "domain", "description"],
)
INDICATOR_IDS = {GDP_PER_CAPITA: "country_gdp_per_capita", POPULATION: "country_population"}


class IndicatorValueRaw(RawModel):
    indicator: Series[str] = pa.Field(isin=list(INDICATOR_IDS))
    iso3: Series[str] = pa.Field(nullable=True)  # empty for a few aggregates
    year: Series[int] = pa.Field(ge=1800, le=2100)
    value: Series[float] = pa.Field(ge=0, nullable=True)  # null: not published
    flag: Series[str] = pa.Field(nullable=True)


class CountryRaw(RawModel):
    iso3: Series[str] = pa.Field(unique=True, str_fullmatch=r"[A-Z0-9]{3}")
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    region_id: Series[str] = pa.Field(nullable=True)
    income_id: Series[str] = pa.Field(nullable=True)
    classified_in: Series[int] = pa.Field(ge=1800, le=2100)


@dataclass(frozen=True)
class PageMeta:
    page: int
    pages: int
    per_page: int
    total: int
    last_updated: str | None


def page_url(base: str, page: int) -> str:
    return f"{base}{'&' if '?' in base else '?'}page={page}"


def page_file(name: str, page: int) -> str:
    return f"{name} page {page}"


class WorldBank(Source):
    meta = publisher_of("worldbank")
    raw_models = {"values": IndicatorValueRaw, "countries": CountryRaw}
    # The first page of each; the others follow from what page 1 says (page_url).
    urls = {
        GDP_PER_CAPITA: f"{API}/country/all/indicator/{GDP_PER_CAPITA}?format=json&per_page=1000",
        POPULATION: f"{API}/country/all/indicator/{POPULATION}?format=json&per_page=1000",
        COUNTRIES: f"{API}/country?format=json&per_page=400",
    }

    def extract(self, transport: Transport) -> Extracted:
        files, stated, retrieved, updated = {}, {}, [], []
        for name, base in self.urls.items():
            first = transport.get(page_url(base, 1))
            meta = read_page(page_url(base, 1), first.content)[0]
            fetched = [first]
            for page in range(2, meta.pages + 1):
                url = page_url(base, page)
                try:
                    fetched.append(transport.get(url))
                except FetchFailed as error:
                    if not error.not_published:
                        raise
                    raise ParseError(
                        url, f"page {page} of {meta.pages}", "the page that page 1 promises",
                        error,
                    ) from error
            for page, got in enumerate(fetched, start=1):
                files[page_file(name, page)] = got.content
                if got.last_modified:
                    stated[page_file(name, page)] = got.last_modified
                retrieved.append(got.retrieved_at)
            if meta.last_updated:
                updated.append(meta.last_updated)
        return Extracted(
            files=files,
            dataset_version=f"last updated {max(updated)}" if updated else None,
            retrieved_at=min(retrieved),
            last_modified=stated,
        )

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        datasets, values = [], []
        for name in (GDP_PER_CAPITA, POPULATION):
            meta, pages = read_all_pages(name, self.urls[name], extracted.files)
            values.append(_values(pages))
            datasets.append(self.dataset(extracted, name, f"World Bank {name}",
                                         last_update=meta.last_updated))
        meta, pages = read_all_pages(COUNTRIES, self.urls[COUNTRIES], extracted.files)
        countries = _countries(pages)
        countries["classified_in"] = extracted.retrieved_at.year
        datasets.append(self.dataset(
            extracted, COUNTRIES, "World Bank countries and income groups",
            last_update=extracted.last_modified.get(page_file(COUNTRIES, 1))))
        return {
            "datasets": self.datasets_frame(datasets),
            "values": pd.concat(values, ignore_index=True),
            "countries": countries,
        }

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        countries = raw["countries"]
        countries = countries[countries["region_id"] != AGGREGATE_REGION]
        iso2 = registry.countries.dropna(subset=["iso3"]).set_index("iso3")["iso2"]
        known = countries.assign(iso2=countries["iso3"].map(iso2))
        unknown = known[known["iso2"].isna()]
        known = known.dropna(subset=["iso2"])

        values = raw["values"].dropna(subset=["value"])
        values = values[values["iso3"].isin(known["iso3"])]
        first_kept = values.groupby("indicator")["year"].transform("max") - (YEARS_KEPT - 1)
        values = values[values["year"] >= first_kept]
        country_values = pd.DataFrame(
            {
                "iso2": values["iso3"].map(known.set_index("iso3")["iso2"]),
                "indicator_id": values["indicator"].map(INDICATOR_IDS),
                "period": values["year"],
                "value": values["value"],
                "flag": values["flag"],
                "dataset_id": values["indicator"],
            }
        )
        income = known.assign(value=known["income_id"].map(INCOME_RANK)).dropna(subset=["value"])
        country_values = pd.concat(
            [
                country_values,
                pd.DataFrame(
                    {
                        "iso2": income["iso2"],
                        "indicator_id": "country_income_group",
                        "period": income["classified_in"],
                        "value": income["value"].astype(float),
                        "flag": None,
                        "dataset_id": COUNTRIES,
                    }
                ),
            ],
            ignore_index=True,
        )
        cities = registry.cities[["city_id", "country_iso2"]].rename(
            columns={"country_iso2": "iso2"}
        )
        observation = cities.merge(country_values, on="iso2").drop(columns="iso2")
        observation["source_id"] = self.meta.source_id
        unresolved = reported(unknown["iso3"], unknown["name"], "unmatched",
                              "no country with ISO 3166 alpha-3 code " + unknown["iso3"]
                              + " in the registry")
        with_cities = known["iso2"].isin(cities["iso2"]).sum()
        return self.conformed(
            raw,
            INDICATORS,
            observation=observation,
            unresolved=unresolved,
            notes=[
                f"{len(known):,} of {len(countries):,} countries known to the registry, "
                f"{with_cities:,} with cities; {len(country_values):,} country values given "
                f"to {observation['city_id'].nunique():,} cities"
            ],
        )


def read_page(url: str, content: bytes) -> tuple[PageMeta, list]:
    """One page: its metadata and its records, or a ParseError saying what is wrong where."""
    document = read_json(content, url)
    if not (isinstance(document, list) and document and isinstance(document[0], dict)):
        raise ParseError(url, "$", "[metadata, [records]]", content[:60])
    if "message" in document[0]:  # the API's way of refusing a request
        raise ParseError(url, "$[0].message", "[metadata, [records]]", document[0]["message"])
    records = document[1] if len(document) > 1 else None
    if not isinstance(records, list):
        raise ParseError(url, "$[1]", "a list of records", records)
    try:
        head = document[0]
        meta = PageMeta(
            int(head["page"]), int(head["pages"]), int(head["per_page"]), int(head["total"]),
            head.get("lastupdated"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ParseError(
            url, "$[0]", "page, pages, per_page and total as numbers", document[0]
        ) from error
    return meta, records


def read_all_pages(
    name: str, base: str, files: dict[str, bytes]
) -> tuple[PageMeta, list[tuple[str, list]]]:
    """Every page of one request (its URL and records), checked against what page 1 says:
    the page number, the number of pages and records, and a full page but the last."""
    first_url = page_url(base, 1)
    if page_file(name, 1) not in files:
        raise ParseError(first_url, "page 1", "a response")
    first, records = read_page(first_url, files[page_file(name, 1)])
    pages = []
    for page in range(1, first.pages + 1):
        url = page_url(base, page)
        if page_file(name, page) not in files:
            raise ParseError(url, f"page {page} of {first.pages}", "the page page 1 promises")
        meta, rows = (first, records) if page == 1 else read_page(url, files[page_file(name, page)])
        if (meta.page, meta.pages, meta.total) != (page, first.pages, first.total):
            raise ParseError(
                url,
                "$[0]",
                f"page {page} of {first.pages}, {first.total} records in all",
                f"page {meta.page} of {meta.pages}, {meta.total} records",
            )
        expected = max(min(first.per_page, first.total - first.per_page * (page - 1)), 0)
        if len(rows) != expected:
            raise ParseError(url, "$[1]", f"{expected} records", f"{len(rows)} records")
        pages.append((url, rows))
    return first, pages


def _values(pages: list[tuple[str, list]]) -> pd.DataFrame:
    return _records(pages, ["indicator", "iso3", "year", "value", "flag"], lambda r: (
        r["indicator"]["id"], r["countryiso3code"] or None, r["date"], r["value"],
        r.get("obs_status") or None,
    ), "indicator.id, countryiso3code, date and value")


def _countries(pages: list[tuple[str, list]]) -> pd.DataFrame:
    return _records(pages, ["iso3", "name", "region_id", "income_id"], lambda r: (
        r["id"], r["name"], r["region"]["id"] or None, r["incomeLevel"]["id"] or None,
    ), "id, name, region.id and incomeLevel.id")


def _records(pages: list[tuple[str, list]], columns: list[str], fields: Callable,
             expected: str) -> pd.DataFrame:
    """The records of every page, `fields` of each as `columns`; a record without them fails
    naming its page and place."""
    rows = []
    for url, records in pages:
        for at, record in enumerate(records):
            try:
                rows.append(fields(record))
            except (KeyError, TypeError, AttributeError) as error:
                raise ParseError(url, f"$[1][{at}]", expected, record) from error
    return pd.DataFrame(rows, columns=columns)
