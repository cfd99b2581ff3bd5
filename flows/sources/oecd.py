"""OECD functional urban areas (FUAs): population, population density and GDP.

From the OECD's "Regions, cities and local areas" database (agency OECD.CFE.EDS), through its
SDMX REST API in `format=csvfilewithlabels`: one CSV row per observation, each dimension as a
code column followed by its label column (REF_AREA, Reference area, FREQ, ...). API syntax:
https://www.oecd.org/en/data/insights/data-explainers/2024/09/api.html. Dataflows, as the OECD
Data Explorer lists them under "Cities and FUAs":
  DSD_FUA_DEMO@DF_AGE_SEX   population by age and sex (the key asks for age and sex totals)
  DSD_FUA_TERR@DF_DENSITY   population density
  DSD_FUA_ECO@DF_ECONOMY    GDP, total and per person, USD PPP
The OECD allows about 60 downloads an hour (flows.refresh.HOST_LIMITS): one request per
dataflow, three a refresh. The trailing comma after each dataflow asks for its latest version.

A FUA (code ending in F, e.g. DEU01F) is a city with its commuting zone; its values go to the
city the FUA is named after, resolved by name within the country its code names, and the code
becomes a city_alias of scheme 'oecd'. The cores (codes ending in C) are not loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.matching import match_cities
from flows.sources.base import Conformed, Extracted, ParseError, Registry, Source
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from flows.sources.resolve import city_aliases, one_record_per_city
from warehouse.csv_records import read_csv_records

API = "https://sdmx.oecd.org/public/rest/data/OECD.CFE.EDS"
POPULATION = "DSD_FUA_DEMO@DF_AGE_SEX"
DENSITY = "DSD_FUA_TERR@DF_DENSITY"
ECONOMY = "DSD_FUA_ECO@DF_ECONOMY"


@dataclass(frozen=True)
class Measure:
    dataflow: str
    measure: str  # MEASURE code
    unit: str  # UNIT_MEASURE code
    indicator_id: str


# The series requested of each dataflow: '.A..._T._T...' is annual, age total, sex total (the
# Data Explorer's key for totals).
KEYS = {POPULATION: ".A..._T._T...", DENSITY: "all", ECONOMY: "all"}
# The series each dataflow contributes; its other measures and units are not read.
MEASURES = [
    Measure(POPULATION, "POP", "PS", "fua_population"),
    Measure(DENSITY, "POP_DEN", "PS_KM2", "fua_population_density"),
    Measure(ECONOMY, "GDP", "USD_PPP", "fua_gdp"),
    Measure(ECONOMY, "GDP", "USD_PPP_PS", "fua_gdp_per_capita"),
]
CODE_COLUMNS = ["REF_AREA", "FREQ", "MEASURE", "UNIT_MEASURE", "TIME_PERIOD", "OBS_VALUE"]
# Totals of dimensions some dataflows break down by ('_T' = total), where present.
TOTALS = ("AGE", "SEX")
NORMAL_STATUS = "A"  # SDMX OBS_STATUS 'A': normal value; others (E, P, B, F, ...) are flags
# Eurostat's country codes in FUA codes of EU countries where they differ from ISO 3166.
EU_CODES = {"EL": "GR", "UK": "GB"}
FUA_SUFFIX = re.compile(r"\s*(\(FUA\)|FUA|functional urban area)$", re.IGNORECASE)

INDICATORS = pd.DataFrame(
    [
        (
            "fua_population",
            "Population of the functional urban area",
            "persons",
            1,
            "demography",
            "Residents of the city's functional urban area (the city and its commuting zone, "
            "OECD-EU definition), OECD DSD_FUA_DEMO@DF_AGE_SEX, all ages and sexes.",
        ),
        (
            "fua_population_density",
            "Population density of the functional urban area",
            "persons per km2",
            1,
            "geography",
            "Residents per square kilometre of the city's functional urban area, OECD "
            "DSD_FUA_TERR@DF_DENSITY.",
        ),
        (
            "fua_gdp",
            "GDP of the functional urban area",
            "US$ PPP",
            1,
            "economy",
            "Gross domestic product of the city's functional urban area in US dollars at "
            "purchasing power parity, OECD DSD_FUA_ECO@DF_ECONOMY (unit multiplier applied).",
        ),
        (
            "fua_gdp_per_capita",
            "GDP per person of the functional urban area",
            "US$ PPP per person",
            1,
            "economy",
            "Gross domestic product per resident of the city's functional urban area, US "
            "dollars at purchasing power parity, OECD DSD_FUA_ECO@DF_ECONOMY.",
        ),
    ],
    columns=["indicator_id", "name", "unit", "direction", "domain", "description"],
)


class FuaValueRaw(RawModel):
    dataflow: Series[str] = pa.Field(isin=[POPULATION, DENSITY, ECONOMY])
    code: Series[str] = pa.Field(str_fullmatch=r"[A-Z]{2,3}[0-9A-Z]{2,3}F")
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    indicator_id: Series[str] = pa.Field(isin=[m.indicator_id for m in MEASURES])
    period: Series[int] = pa.Field(ge=1800, le=2100)
    value: Series[float] = pa.Field(ge=0)
    flag: Series[str] = pa.Field(nullable=True)

    class Config:
        unique = ["code", "indicator_id", "period"]


class Oecd(Source):
    meta = publisher_of("oecd")
    raw_models = {"values": FuaValueRaw}
    urls = {dataflow: f"{API},{dataflow},/{key}?format=csvfilewithlabels"
            for dataflow, key in KEYS.items()}

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        datasets, frames = [], []
        for dataflow in (POPULATION, DENSITY, ECONOMY):
            values, title = read_sdmx_csv(dataflow, extracted.files[dataflow])
            frames.append(values)
            datasets.append(self.dataset(extracted, dataflow, title or dataflow))
        return {
            "datasets": self.datasets_frame(datasets),
            "values": pd.concat(frames, ignore_index=True),
        }

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        values = raw["values"]
        areas = values.drop_duplicates("code")[["code", "name"]]
        iso3 = dict(zip(registry.countries["iso3"], registry.countries["iso2"], strict=True))
        iso2 = set(registry.countries["iso2"])
        records = pd.DataFrame(
            {
                "key": areas["code"],
                "name": areas["name"].str.replace(FUA_SUFFIX, "", regex=True),
                "country": areas["code"].map(lambda code: country_of(code, iso3, iso2)),
            }
        )
        no_country = records[records["country"].isna()]
        verdicts = match_cities(records.dropna(subset=["country"]), registry.cities,
                                registry.aliases)
        population = (
            values[values["indicator_id"] == "fua_population"]
            .sort_values("period")
            .drop_duplicates("code", keep="last")
            .set_index("code")["value"]
        )
        verdicts = one_record_per_city(
            verdicts,
            [verdicts["confidence"], verdicts["key"].map(population).fillna(0)],
            what="functional urban area",
        )
        matched = verdicts[verdicts["status"] == "matched"]
        resolved = values.merge(matched[["key", "city_id"]], left_on="code", right_on="key")
        observation = pd.DataFrame(
            {
                "city_id": resolved["city_id"],
                "indicator_id": resolved["indicator_id"],
                "period": resolved["period"],
                "source_id": self.meta.source_id,
                "value": resolved["value"],
                "flag": resolved["flag"],
                "dataset_id": resolved["dataflow"],
            }
        )
        alias = city_aliases("oecd", matched["key"], matched, self.meta.source_id)
        unresolved = pd.concat(
            [
                verdicts[verdicts["status"] != "matched"].merge(records[["key", "name"]], on="key"),
                no_country.assign(
                    status="unmatched",
                    reason="no country of the registry has the code "
                    + no_country["key"].str[:3] + " or " + no_country["key"].str[:2],
                ),
            ],
            ignore_index=True,
        )
        notes = [f"{len(matched):,} of {len(areas):,} functional urban areas resolved to cities"]
        return self.conformed(raw, INDICATORS, observation=observation, city_alias=alias,
                              unresolved=unresolved, notes=notes)


def country_of(code: str, iso3: dict[str, str], iso2: set[str]) -> str | None:
    """ISO2 of a FUA code's country: OECD codes open with ISO3 (DEU01F), those of EU
    countries with Eurostat's two letters (AT001F, EL001F)."""
    if code[:3] in iso3:
        return iso3[code[:3]]
    two = EU_CODES.get(code[:2], code[:2])
    return two if two in iso2 else None


def read_sdmx_csv(name: str, content: bytes) -> tuple[pd.DataFrame, str | None]:
    """The FUA rows of the measures we load, and the dataflow's title (STRUCTURE_NAME).

    Missing values (empty or NaN OBS_VALUE) are left out, never read as zero; UNIT_MULT is
    applied; OBS_STATUS other than normal is kept as a lower-case flag.
    """
    # The API ends every line: a last line without an end is a download cut short.
    records = read_csv_records(content, name, final_line_end=True, delimiter=",")
    if not records.rows:
        raise ParseError(name, "line 1", "a header of SDMX-CSV columns")
    at = _columns(name, records.rows[0])
    wanted = {(m.measure, m.unit): m.indicator_id for m in MEASURES if m.dataflow == name}
    rows, title = [], None
    for row, line in zip(records.rows[1:], records.lines[1:], strict=True):
        title = title or (row[at["STRUCTURE_NAME"]] if "STRUCTURE_NAME" in at else None)
        indicator = wanted.get((row[at["MEASURE"]], row[at["UNIT_MEASURE"]]))
        if (
            indicator is None
            or row[at["FREQ"]] != "A"
            or not row[at["REF_AREA"]].endswith("F")
            or any(row[at[d]] != "_T" for d in TOTALS if d in at)
        ):
            continue
        value = _number(name, line, "OBS_VALUE", row[at["OBS_VALUE"]])
        if value is None:
            continue
        multiplier = _number(name, line, "UNIT_MULT", row[at["UNIT_MULT"]]) if (
            "UNIT_MULT" in at) else None
        status = row[at["OBS_STATUS"]] if "OBS_STATUS" in at else ""
        rows.append(
            {
                "dataflow": name,
                "code": row[at["REF_AREA"]],
                "name": row[at["REF_AREA"] + 1],
                "indicator_id": indicator,
                "period": _year(name, line, row[at["TIME_PERIOD"]]),
                "value": value * 10 ** int(multiplier or 0),
                "flag": status.lower() if status and status != NORMAL_STATUS else None,
            }
        )
    columns = ["dataflow", "code", "name", "indicator_id", "period", "value", "flag"]
    return pd.DataFrame(rows, columns=columns), title


def _columns(name: str, header: list[str]) -> dict[str, int]:
    at = {column: i for i, column in enumerate(header)}
    missing = [c for c in CODE_COLUMNS if c not in at]
    if missing:
        raise ParseError(name, "line 1", f"SDMX-CSV columns {', '.join(CODE_COLUMNS)}", missing)
    # csvfilewithlabels puts each code's label right after it; plain csvfile does not.
    label = header[at["REF_AREA"] + 1] if at["REF_AREA"] + 1 < len(header) else ""
    if not label or label.isupper():
        raise ParseError(
            name, "line 1", "the label column after REF_AREA (format=csvfilewithlabels)", label
        )
    return at


def _number(name: str, line: int, column: str, text: str) -> float | None:
    if text in ("", "NaN"):
        return None
    try:
        return float(text)
    except ValueError as error:
        raise ParseError(name, f"line {line}, column {column}", "a number", text) from error


def _year(name: str, line: int, text: str) -> int:
    if not (len(text) == 4 and text.isdigit()):
        raise ParseError(name, f"line {line}, column TIME_PERIOD", "a year", text)
    return int(text)
