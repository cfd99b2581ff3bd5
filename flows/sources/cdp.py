"""CDP city-wide greenhouse-gas emissions, as cities reported them to CDP (and ICLEI) in 2016
and 2017: emissions (total, scope 1, scope 2), population, GDP, land area and the C40 flag.

Socrata CSV exports of data.cdp.net (datasets dfed-thx7 and kyi6-dk5h). Each response is one
city's report; the two years name their columns differently (COLUMNS). Values are self-reported
and not verified by CDP.

Periods: emissions are dated by the inventory they come from (2016: the measurement date's
year; 2017: the year the accounting period ends), population and GDP by the years the city
gave for them, land area and the C40 flag by the reporting year. Where both exports give a
value for one city, indicator and period, the 2017 export's is kept (the later report).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.matching import match_cities
from flows.sources import resolve
from flows.sources.base import Conformed, Extracted, ParseError, Registry, Source
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from warehouse.csv_records import read_csv_records

EXPORT = "https://data.cdp.net/api/views/{}/rows.csv?accessType=DOWNLOAD"
REPORTS_2016 = "dfed-thx7"  # 2016 - Citywide GHG Emissions
REPORTS_2017 = "kyi6-dk5h"  # 2017 - Cities Community Wide Emissions
TITLES = {
    REPORTS_2016: "2016 - Citywide GHG Emissions",
    REPORTS_2017: "2017 - Cities Community Wide Emissions",
}
# Our name -> each export's column (the 2016 export pads one header with a space).
COLUMNS = {
    REPORTS_2016: {
        "account": "Account Number",
        "name": "City Short Name",
        "country": "Country",
        "c40": "C40",
        "reporting_year": "Reporting Year",
        "inventory": "Measurement Year",
        "total": "Total City-wide Emissions (metric tonnes CO2e)",
        "scope1": "Total Scope 1 Emissions (metric tonnes CO2e)",
        "scope2": "Total Scope 2 Emissions (metric tonnes CO2e)",
        "population": "Current Population",
        "population_year": "Current Population Year",
        "gdp": "City GDP",
        "gdp_currency": "GDP Currency",
        "gdp_year": "Year of GDP",
        "area": "Land area (in square km)",
        "location": "City Location",
    },
    REPORTS_2017: {
        "account": "Account number",
        "name": "City",
        "country": "Country",
        "c40": "C40",
        "reporting_year": "Reporting year",
        "inventory": "Accounting year",
        "total": "Total emissions (metric tonnes CO2e)",
        "scope1": "Total Scope 1 Emissions (metric tonnes CO2e)",
        "scope2": "Total Scope 2 Emissions (metric tonnes CO2e)",
        "population": "Population",
        "population_year": "Population year",
        "gdp": "GDP",
        "gdp_currency": "GDP Currency",
        "gdp_year": "GDP Year",
        "area": "Land area (in square km)",
        "location": "City Location",
    },
}
NUMBERS = ["total", "scope1", "scope2", "population", "gdp", "area"]
YEARS = ["reporting_year", "population_year", "gdp_year"]
# The inventory's year: 2016 gives a date ('12/31/2013 12:00:00 AM'), 2017 a period
# ('2013-07-01 - 2014-06-30'): the year it ends.
INVENTORY_YEAR = re.compile(r"(\d{4})(?:-\d\d-\d\d)?(?: \d\d:\d\d:\d\d [AP]M)?\s*$")
POINT = re.compile(r"\((-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)\)")
# Words of local government around a city's name ("Stadt Zürich", "City of Winnipeg", "Aarhus
# Kommune"): no city is called by them, so they are dropped before the name is matched.
GOVERNMENT_WORDS = re.compile(
    r"^(?:(?:city|municipality|county|town) of|landeshauptstadt|stadt|ville de|comune di|"
    r"munic[ií]pio de|alcald[ií]a(?: metropolitana)? de|ayuntamiento de)\s+"
    r"|\s+(?:kommune|municipality)$",
    re.IGNORECASE,
)
# CDP's country names that GeoNames spells otherwise.
COUNTRY_NAMES = {"usa": "US", "state of palestine": "PS", "netherlands": "NL"}
# Self-reported GDP comes in any unit; per resident it tells a unit error from a figure.
GDP_PER_PERSON_USD = (500.0, 500_000.0)
C40 = "cdp:c40"

INDICATORS = pd.DataFrame(
    [
        ("ghg_emissions_total", "City-wide GHG emissions", "t CO2e", -1, "climate",
         "Total city-wide greenhouse-gas emissions the city reported to CDP (metric tonnes "
         "CO2e, the scopes and gases the city included), dated by its inventory year."),
        ("ghg_emissions_scope1", "Scope 1 GHG emissions", "t CO2e", -1, "climate",
         "Emissions from sources inside the city boundary, as reported to CDP."),
        ("ghg_emissions_scope2", "Scope 2 GHG emissions", "t CO2e", -1, "climate",
         "Emissions from grid-supplied energy used in the city, as reported to CDP."),
        ("ghg_emissions_per_capita", "City-wide GHG emissions per resident", "t CO2e per person",
         -1, "climate",
         "Derived: ghg_emissions_total / reported_population, both from the same CDP report "
         "(the population may be of another year than the inventory)."),
        ("reported_population", "Population reported to CDP", "persons", 1, "demography",
         "The population the city gave in its CDP report, dated by the year it gave."),
        ("city_gdp_usd", "City GDP reported to CDP", "US$", 1, "economy",
         "GDP the city reported in US dollars (reports in other currencies are not loaded), "
         "left out when it is not between 500 and 500,000 US$ per reported resident."),
        ("land_area", "Land area reported to CDP", "km2", 1, "geography",
         "Land area of the reporting city, square kilometres, dated by the reporting year."),
    ],
    columns=["indicator_id", "name", "unit", "direction", "domain", "description"],
)


class ReportRaw(RawModel):
    dataset_id: Series[str] = pa.Field(isin=list(TITLES))
    account: Series[int] = pa.Field(gt=0)
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    country: Series[str] = pa.Field(str_length={"min_value": 1})
    c40: Series[bool]
    reporting_year: Series[int] = pa.Field(ge=2000, le=2100)
    inventory_year: Series[float] = pa.Field(ge=1990, le=2100, nullable=True)
    total: Series[float] = pa.Field(ge=0, nullable=True)
    scope1: Series[float] = pa.Field(ge=0, nullable=True)
    scope2: Series[float] = pa.Field(ge=0, nullable=True)
    population: Series[float] = pa.Field(ge=0, nullable=True)
    population_year: Series[float] = pa.Field(ge=1900, le=2100, nullable=True)
    gdp: Series[float] = pa.Field(ge=0, nullable=True)
    gdp_currency: Series[str] = pa.Field(nullable=True)
    gdp_year: Series[float] = pa.Field(ge=1900, le=2100, nullable=True)
    area: Series[float] = pa.Field(gt=0, nullable=True)
    latitude: Series[float] = pa.Field(ge=-90, le=90, nullable=True)
    longitude: Series[float] = pa.Field(ge=-180, le=180, nullable=True)

    class Config:
        unique = ["dataset_id", "account"]


class Cdp(Source):
    meta = publisher_of("cdp")
    raw_models = {"reports": ReportRaw}
    urls = {name: EXPORT.format(name) for name in TITLES}
    # the portal names a download after the dataset's title
    published_as = {REPORTS_2016: ("2016_-_Citywide_GHG_Emissions.csv",
                                  "2016_-_Citywide_GHG_Emissions_20240207.csv"),
                    REPORTS_2017: ("2017_-_Cities_Community_Wide_Emissions.csv",)}

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        reports = [read_export(name, extracted.files[name]) for name in TITLES]
        datasets = [self.dataset(extracted, name, title) for name, title in TITLES.items()]
        return {"datasets": self.datasets_frame(datasets),
                "reports": pd.concat(reports, ignore_index=True)}

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        reports = raw["reports"].assign(
            key=lambda f: f["dataset_id"] + ":" + f["account"].astype(str),
            iso2=lambda f: f["country"].str.strip().str.casefold().map(
                _country_codes(registry.countries)
            ),
        )
        known = reports.dropna(subset=["iso2"])
        records = pd.DataFrame(
            {
                "key": known["key"],
                "name": known["name"].str.replace(GOVERNMENT_WORDS, "", regex=True),
                "country": known["iso2"],
                "latitude": known["latitude"],
                "longitude": known["longitude"],
            }
        )
        verdicts = match_cities(records, registry.cities, registry.aliases)
        verdicts = resolve.one_record_per_city(
            verdicts,
            [verdicts["confidence"], verdicts["key"].map(reports.set_index("key")["population"])
             .fillna(0)],
            what="report",
            within=verdicts["key"].str.split(":").str[0],  # one export (year) at a time
        )
        matched = verdicts[verdicts["status"] == "matched"]
        resolved = reports.merge(matched[["key", "city_id", "method", "confidence"]], on="key")
        observation, gdp_left_out = _observations(resolved)
        no_country = reports[reports["iso2"].isna()]
        unresolved = pd.concat(
            [
                verdicts[verdicts["status"] != "matched"].merge(reports[["key", "name"]], on="key"),
                resolve.unresolved(
                    no_country["key"], no_country["name"], "unmatched",
                    "no country called " + no_country["country"] + " in the registry",
                ),
            ],
            ignore_index=True,
        )
        members = resolved[resolved["c40"]]
        membership = pd.DataFrame(
            {
                "network_id": C40,
                "city_id": members["city_id"],
                "period": members["reporting_year"],
                "value": 1.0,
                "source_id": self.meta.source_id,
                "dataset_id": members["dataset_id"],
            }
        ).drop_duplicates(["city_id", "period"])
        network = pd.DataFrame(
            # named as the other sources name C40, so that a city's networks count it once
            [(C40, "city-network", "C40 Cities Climate Leadership Group",
              None, None, self.meta.source_id)],
            columns=["network_id", "kind", "name", "sector", "wikidata_qid", "source_id"],
        )
        alias = resolve.city_aliases("cdp", resolved["account"].astype(str), resolved,
                                     self.meta.source_id).drop_duplicates(["alias", "city_id"])
        return self.conformed(
            raw,
            INDICATORS,
            observation=observation.assign(source_id=self.meta.source_id),
            network=network,
            membership=membership,
            city_alias=alias,
            unresolved=unresolved,
            notes=[
                f"{len(matched):,} of {len(reports):,} city reports resolved to cities",
                f"{gdp_left_out:,} GDP figures left out (not in US$, or not between "
                f"{GDP_PER_PERSON_USD[0]:,.0f} and {GDP_PER_PERSON_USD[1]:,.0f} US$ per resident)",
            ],
        )


def read_export(name: str, content: bytes) -> pd.DataFrame:
    """One export's reports in our column names; numbers and years checked cell by cell."""
    # Socrata ends every line: a last line without an end is a download cut short.
    records = read_csv_records(content, name, final_line_end=True, delimiter=",")
    header = [column.strip() for column in records.rows[0]] if records.rows else []
    wanted = COLUMNS[name]
    if missing := [c for c in wanted.values() if c not in header]:
        raise ParseError(name, "line 1", f"the columns of {TITLES[name]}", missing)
    at = {ours: header.index(theirs) for ours, theirs in wanted.items()}
    rows = [_report(name, line, {k: row[i].strip() for k, i in at.items()})
            for row, line in zip(records.rows[1:], records.lines[1:], strict=True)]
    columns = ["dataset_id", "account", "name", "country", "c40", "reporting_year",
               "inventory_year", *NUMBERS, "population_year", "gdp_currency", "gdp_year",
               "latitude", "longitude"]
    return pd.DataFrame(rows, columns=columns)


def _report(name: str, line: int, cells: dict[str, str]) -> dict:
    def number(column: str) -> float | None:
        text = cells[column].replace(",", "")
        if not text:
            return None
        try:
            return float(text)
        except ValueError as error:
            raise ParseError(
                name, f"line {line}, column {COLUMNS[name][column]!r}", "a number", cells[column]
            ) from error

    inventory = INVENTORY_YEAR.search(cells["inventory"]) if cells["inventory"] else None
    if cells["inventory"] and inventory is None:
        raise ParseError(name, f"line {line}, column {COLUMNS[name]['inventory']!r}",
                         "a date or a period of dates", cells["inventory"])
    point = POINT.search(cells["location"])
    return {
        "dataset_id": name,
        "account": number("account"),
        "name": cells["name"],
        "country": cells["country"],
        "c40": cells["c40"] == "C40",
        "inventory_year": int(inventory.group(1)) if inventory else None,
        **{column: number(column) for column in [*NUMBERS, *YEARS]},
        "gdp_currency": cells["gdp_currency"][:3] or None,
        "latitude": float(point.group(1)) if point else None,
        "longitude": float(point.group(2)) if point else None,
    }


def _country_codes(countries: pd.DataFrame) -> dict[str, str]:
    """Case-folded country name -> ISO2: the registry's names, and CDP's own spellings."""
    return {**dict(zip(countries["name"].str.casefold(), countries["iso2"], strict=True)),
            **COUNTRY_NAMES}


def _observations(resolved: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The reports' values as observations, the later export first; and how many GDP figures
    were left out."""
    per_person = resolved["total"] / resolved["population"].where(resolved["population"] > 0)
    gdp_per_person = resolved["gdp"] / resolved["population"].where(resolved["population"] > 0)
    usd_gdp = resolved["gdp"].where(
        resolved["gdp_currency"].eq("USD") & gdp_per_person.between(*GDP_PER_PERSON_USD)
    )
    series = [
        ("ghg_emissions_total", resolved["total"], resolved["inventory_year"]),
        ("ghg_emissions_scope1", resolved["scope1"], resolved["inventory_year"]),
        ("ghg_emissions_scope2", resolved["scope2"], resolved["inventory_year"]),
        ("ghg_emissions_per_capita", per_person, resolved["inventory_year"]),
        ("reported_population", resolved["population"], resolved["population_year"]),
        ("city_gdp_usd", usd_gdp, resolved["gdp_year"]),
        ("land_area", resolved["area"], resolved["reporting_year"]),
    ]
    frames = [
        pd.DataFrame(
            {
                "city_id": resolved["city_id"],
                "indicator_id": indicator,
                "period": period,
                "value": values,
                "flag": None,
                "dataset_id": resolved["dataset_id"],
            }
        )
        for indicator, values, period in series
    ]
    observation = pd.concat(frames, ignore_index=True).dropna(subset=["value", "period"])
    observation = observation[np.isfinite(observation["value"])]
    later_first = observation.sort_values("dataset_id", key=lambda d: d.map(
        {REPORTS_2017: 0, REPORTS_2016: 1}), kind="stable")
    observation = later_first.drop_duplicates(["city_id", "indicator_id", "period"])
    gdp_left_out = int(resolved["gdp"].notna().sum() - usd_gdp.notna().sum())
    return observation.assign(period=observation["period"].astype(int)), gdp_left_out
