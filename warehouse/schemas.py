"""The contracts: a pandera model for every warehouse table a refresh writes.

A frame is validated against its table's model before it is loaded, so the warehouse only ever
holds rows that satisfy these checks. Referential integrity across tables is checked in SQL on
the staging file before publishing (integrity.py): that needs the other tables, not one frame.
"""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from warehouse import checks  # noqa: F401  (registers str_fullmatch for the models)
from warehouse.practices import OUTCOMES
from warehouse.screen import row_wise

# Shanghai, the largest city proper, has ~25 M people; a city above 50 M is a unit error.
MAX_CITY_POPULATION = 50_000_000


class SourceTable(pa.DataFrameModel):
    source_id: Series[str] = pa.Field(unique=True, str_fullmatch=r"[a-z0-9][a-z0-9-]*")
    publisher: Series[str] = pa.Field(str_length={"min_value": 1})
    dataset: Series[str] = pa.Field(str_length={"min_value": 1})
    url: Series[str] = pa.Field(str_matches=r"^(https?|file|package)://")
    licence: Series[str] = pa.Field(str_length={"min_value": 1})
    attribution: Series[str] = pa.Field(str_length={"min_value": 1})
    dataset_version: Series[str] = pa.Field(nullable=True)
    cadence_days: Series[pd.Int64Dtype] = pa.Field(gt=0, nullable=True)
    snapshot: Series[str] = pa.Field(nullable=True)  # the starter snapshot's version, if from it
    # the publisher's last update of a dataset it no longer updates; absent from a derived
    # source's row (the network measures)
    frozen_since: Optional[Series[str]] = pa.Field(nullable=True)  # noqa: UP045 (pandera)

    class Config:
        strict = "filter"
        coerce = True


class CountryTable(pa.DataFrameModel):
    iso2: Series[str] = pa.Field(unique=True, str_fullmatch=r"[A-Z]{2}")
    iso3: Series[str] = pa.Field(str_fullmatch=r"[A-Z]{3}")
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    continent: Series[str] = pa.Field(isin=["AF", "AN", "AS", "EU", "NA", "OC", "SA"])
    population: Series[pa.Int64] = pa.Field(ge=0, nullable=True)
    capital: Series[str] = pa.Field(nullable=True)
    iso_numeric: Series[pa.Int32] = pa.Field(ge=0, le=999, nullable=True)

    class Config:
        strict = "filter"
        coerce = True


class CityTable(pa.DataFrameModel):
    city_id: Series[str] = pa.Field(unique=True, str_fullmatch=r"gn:[0-9]+")
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    ascii_name: Series[str] = pa.Field(str_length={"min_value": 1})
    country_iso2: Series[str] = pa.Field(str_fullmatch=r"[A-Z]{2}")
    country_iso3: Series[str] = pa.Field(str_fullmatch=r"[A-Z]{3}")
    admin1: Series[str] = pa.Field(nullable=True)
    latitude: Series[float] = pa.Field(ge=-90, le=90)
    longitude: Series[float] = pa.Field(ge=-180, le=180)
    population: Series[pa.Int64] = pa.Field(ge=0, le=MAX_CITY_POPULATION, nullable=True)
    is_capital: Series[bool]
    wikidata_qid: Series[str] = pa.Field(nullable=True, str_fullmatch=r"Q[0-9]+")

    class Config:
        strict = "filter"
        coerce = True


class CityAliasTable(pa.DataFrameModel):
    scheme: Series[str] = pa.Field(str_length={"min_value": 1})
    alias: Series[str] = pa.Field(str_length={"min_value": 1})
    city_id: Series[str] = pa.Field(str_fullmatch=r"gn:[0-9]+")
    method: Series[str]
    confidence: Series[float] = pa.Field(ge=0, le=1)
    source_id: Series[str]

    class Config:
        strict = "filter"
        unique = ["scheme", "alias", "city_id"]


class IndicatorTable(pa.DataFrameModel):
    indicator_id: Series[str] = pa.Field(unique=True, str_fullmatch=r"[a-z0-9_]+")
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    unit: Series[str] = pa.Field(str_length={"min_value": 1})
    direction: Series[pa.Int8] = pa.Field(isin=[-1, 1])
    domain: Series[str]
    description: Series[str]
    source_id: Series[str]

    class Config:
        strict = "filter"
        coerce = True


class DatasetTable(pa.DataFrameModel):
    source_id: Series[str]
    dataset_id: Series[str] = pa.Field(str_length={"min_value": 1})
    title: Series[str] = pa.Field(str_length={"min_value": 1})
    url: Series[str] = pa.Field(str_matches=r"^(https?|file|package)://")
    last_update: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        unique = ["source_id", "dataset_id"]


class ObservationTable(pa.DataFrameModel):
    city_id: Series[str] = pa.Field(str_fullmatch=r"gn:[0-9]+")
    indicator_id: Series[str] = pa.Field(str_fullmatch=r"[a-z0-9_]+")
    period: Series[pa.Int32] = pa.Field(ge=1800, le=2100)
    source_id: Series[str]
    dataset_id: Series[str] = pa.Field(str_length={"min_value": 1})
    value: Series[float] = pa.Field(nullable=False)
    flag: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = True
        unique = ["city_id", "indicator_id", "period", "source_id"]

    @pa.check("value", error="a finite number")
    @classmethod
    @row_wise
    def finite(cls, value: Series[float]) -> Series[bool]:
        return value.abs() != float("inf")


class NetworkTable(pa.DataFrameModel):
    network_id: Series[str] = pa.Field(unique=True, str_fullmatch=r"[a-z0-9-]+:.+")
    kind: Series[str] = pa.Field(isin=["firm", "city-network"])
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    sector: Series[str] = pa.Field(nullable=True)
    wikidata_qid: Series[str] = pa.Field(nullable=True, str_fullmatch=r"Q[0-9]+")
    source_id: Series[str]

    class Config:
        strict = "filter"


class MembershipTable(pa.DataFrameModel):
    network_id: Series[str] = pa.Field(str_fullmatch=r"[a-z0-9-]+:.+")
    city_id: Series[str] = pa.Field(str_fullmatch=r"gn:[0-9]+")
    period: Series[pa.Int32] = pa.Field(ge=1800, le=2100)
    # GaWC service values run 0-5; a city network's member is 1
    value: Series[float] = pa.Field(gt=0, le=5)
    source_id: Series[str]
    dataset_id: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = "filter"
        coerce = True
        unique = ["network_id", "city_id", "period", "source_id"]


class CityLinkTable(pa.DataFrameModel):
    kind: Series[str] = pa.Field(isin=["air-route", "twinning"])
    city_a: Series[str] = pa.Field(str_fullmatch=r"gn:[0-9]+")
    city_b: Series[str] = pa.Field(str_fullmatch=r"gn:[0-9]+")
    period: Series[pa.Int32] = pa.Field(ge=1800, le=2100)
    weight: Series[float] = pa.Field(gt=0)
    source_id: Series[str]
    dataset_id: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = "filter"
        coerce = True
        unique = ["kind", "city_a", "city_b", "period", "source_id"]

    @pa.dataframe_check(error="city_a: a city before city_b (links are undirected)")
    @classmethod
    @row_wise
    def ordered(cls, frame) -> Series[bool]:
        return frame["city_a"] < frame["city_b"]


class PracticeTable(pa.DataFrameModel):
    city_id: Series[str] = pa.Field(str_fullmatch=r"gn:[0-9]+")
    title: Series[str] = pa.Field(str_length={"min_value": 1})
    year: Series[pa.Int32] = pa.Field(ge=1800, le=2100)
    dimension: Series[str] = pa.Field(nullable=True)
    indicators: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[a-z0-9_]+(;[a-z0-9_]+)*")
    outcome: Series[str] = pa.Field(isin=list(OUTCOMES))
    lesson: Series[str] = pa.Field(str_length={"min_value": 1})
    source_url: Series[str] = pa.Field(str_fullmatch=r"https?://\S+")
    licence: Series[str] = pa.Field(str_length={"min_value": 1})
    source_id: Series[str]
    dataset_id: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = "filter"
        coerce = True
        unique = ["city_id", "title", "year", "source_id"]


class ScoreRunTable(pa.DataFrameModel):
    score_run_id: Series[str] = pa.Field(unique=True, str_fullmatch=r"[0-9a-f]{16}")
    framework_id: Series[str] = pa.Field(str_fullmatch=r"[a-z0-9_]+")
    framework: Series[str] = pa.Field(str_length={"min_value": 1})
    method: Series[str] = pa.Field(str_length={"min_value": 1})
    framework_hash: Series[str] = pa.Field(str_fullmatch=r"[0-9a-f]{64}")
    method_hash: Series[str] = pa.Field(str_fullmatch=r"[0-9a-f]{64}")
    input_hash: Series[str] = pa.Field(str_fullmatch=r"[0-9a-f]{64}")
    cities: Series[int] = pa.Field(ge=0)
    methodology: Series[str] = pa.Field(nullable=True)
    notes: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = False  # created_at is stamped as it is written


class ScoreTable(pa.DataFrameModel):
    score_run_id: Series[str] = pa.Field(str_fullmatch=r"[0-9a-f]{16}")
    city_id: Series[str] = pa.Field(str_fullmatch=r"gn:[0-9]+")
    node_id: Series[str] = pa.Field(str_length={"min_value": 1})
    node_kind: Series[str] = pa.Field(isin=["indicator", "dimension", "index"])
    value: Series[float] = pa.Field(nullable=True)
    normalised: Series[float] = pa.Field(nullable=True)
    rank: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    percentile: Series[float] = pa.Field(ge=0, le=100, nullable=True)
    rank_country: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    percentile_country: Series[float] = pa.Field(ge=0, le=100, nullable=True)
    rank_continent: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    percentile_continent: Series[float] = pa.Field(ge=0, le=100, nullable=True)
    rank_low: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    rank_high: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)

    class Config:
        strict = "filter"
        coerce = True
        unique = ["score_run_id", "city_id", "node_id"]

    @pa.dataframe_check(error="rank_low: at most rank_high")
    @classmethod
    @row_wise
    def interval(cls, frame) -> Series[bool]:
        both = frame["rank_low"].notna() & frame["rank_high"].notna()
        return ~both | (frame["rank_low"] <= frame["rank_high"])
