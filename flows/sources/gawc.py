"""GaWC-style service-value matrices (cities x advanced-producer-service firms, values 0-5):
each firm is a network, each non-zero cell a membership whose value is the service value.

Without configuration the matrices are the former-Soviet-Union study "Periphery, Uncertainty
and Legacy" (qullab): 61 cities x 96 firms in 2015, 102 cities x 94 firms in 2018, built with
GaWC's interlocking-network method, their cities resolved within the fifteen former Soviet
republics the study covers. Any other matrix is listed in citybench.toml, each with its file
or URL, year and title, and optionally the countries its cities lie in (else worldwide):

    [[sources.gawc.matrices]]
    id = "gawc-2000"
    file = "data/gawc2000.csv"      # relative to the config file, or a URL
    year = 2000
    title = "GaWC world city network, 2000"

GaWC's layouts are read as they come (warehouse/service_matrix.py): upper-case names, a
Country column or not, a Sector row or not. A bracket after a name is a qualifier: "(or
Qaraghandy)" another spelling, "SAN JOSE (CR)" or "Valencia (Sp.)" the country, anything else
("Rochester (New York)") a state, which the matcher uses to tell US namesakes apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series
from pydantic import Field, field_validator

from flows.sources import resolve
from flows.sources.base import (
    Conformed,
    Dataset,
    Extracted,
    Registry,
    Source,
    fetch_listed,
    listed_location,
    listed_name,
)
from flows.sources.parse_notes import ParseNoteRaw, notes_frame
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from flows.transport import Transport
from warehouse.config import Section, SourceSettings
from warehouse.service_matrix import MAX_SERVICE_VALUE, ServiceMatrix, read_service_matrix

REPOSITORY = (
    "https://raw.githubusercontent.com/qullab/Periphery-Uncertainty-and-Legacy/"
    "c31cbfec4c44b24bf7ec27ce0de552c63b4549be/Data/RawData/"  # the commit of the data files
)
# The study's region (README: "intercity networks within the former Soviet Union region");
# the Country columns of its sector files name exactly these fifteen countries.
FORMER_SOVIET_REPUBLICS = (
    "AM", "AZ", "BY", "EE", "GE", "KG", "KZ", "LT", "LV", "MD", "RU", "TJ", "TM", "UA", "UZ",
)


# a matrix's dataset id: how the warehouse, the network measures and the app name it
DATASET_ID = r"[a-z0-9][a-z0-9-]*"


@dataclass(frozen=True)
class Matrix:
    dataset_id: str
    file: str  # the source's name for the file (a listed one: its path, or its URL redacted)
    title: str
    period: int  # the year the publisher says the matrix describes
    sheet: str | None  # None: the first sheet
    countries: tuple[str, ...] | None  # where cities named without a country are looked for
    url: str | None = None  # a listed file's location (None: the publisher's URL of `file`)


MATRICES = (
    Matrix("fsu-2015", "raw_data_2015.xlsx",
           "Service values of APS firms in former-Soviet cities, 2015", 2015, None,
           FORMER_SOVIET_REPUBLICS),
    Matrix("fsu-2018", "raw_data_2018.xlsx",
           "Service values of APS firms in former-Soviet cities, 2018", 2018, "InPut",
           FORMER_SOVIET_REPUBLICS),
)


# GaWC's abbreviations of countries in qualifiers and Country columns that GeoNames' names,
# ISO2 and ISO3 codes do not cover ("Valencia (Sp.)", "Birmingham (UK)", "U.S.")
COUNTRY_NAMES = {
    "Burkina": "BF", "Cayman": "KY", "Central African Rep.": "CF", "Congo (Dem. Rep.)": "CD",
    "Congo (Rep.)": "CG", "Cote d'ivoire": "CI", "Czeck Republic": "CZ", "East Timor": "TL",
    "Kazakstan": "KZ", "Korea": "KR", "Macedonia": "MK", "Netherlands": "NL", "Palestine": "PS",
    "Sp.": "ES", "Surinam": "SR", "Swaziland": "SZ", "U.S.": "US", "UAE": "AE", "UK": "GB",
    "Ve.": "VE",
}


class MatrixSettings(Section):
    """One [[sources.gawc.matrices]] entry."""

    id: Annotated[str, Field(pattern=f"^{DATASET_ID}$")]
    file: Annotated[str, Field(min_length=1)]  # a path relative to the config file, or a URL
    year: Annotated[int, Field(ge=1800, le=2100)]
    title: Annotated[str, Field(min_length=1)]
    countries: list[Annotated[str, Field(pattern="^[A-Z]{2}$")]] | None = None  # None: all
    sheet: str | None = None  # None: the first sheet of a workbook


class GawcSettings(SourceSettings):
    """[sources.gawc]: the matrices to load (none listed: the former-Soviet study's two)."""

    matrices: list[MatrixSettings] = []

    @field_validator("matrices")
    @classmethod
    def _distinct(cls, matrices: list[MatrixSettings]) -> list[MatrixSettings]:
        ids = [m.id for m in matrices]
        if repeated := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"matrix id {repeated[0]!r} listed twice")
        return matrices


def _listed(entry: MatrixSettings, settings: GawcSettings) -> Matrix:
    return Matrix(entry.id, listed_name(entry.file), entry.title, entry.year, entry.sheet,
                  tuple(entry.countries) if entry.countries else None,
                  listed_location(entry.file, settings))


class ServiceValueRaw(RawModel):
    dataset_id: Series[str] = pa.Field(str_matches=f"^{DATASET_ID}$")
    period: Series[int] = pa.Field(ge=1800, le=2100)
    row: Series[int] = pa.Field(gt=0)
    city: Series[str] = pa.Field(str_length={"min_value": 1})
    country: Series[str] = pa.Field(nullable=True)
    firm: Series[str] = pa.Field(str_length={"min_value": 1})
    sector: Series[str] = pa.Field(nullable=True)
    value: Series[float] = pa.Field(ge=0, le=MAX_SERVICE_VALUE)

    class Config:
        unique = ["dataset_id", "city", "firm"]


class Gawc(Source):
    meta = publisher_of("gawc")
    raw_models = {"service_values": ServiceValueRaw, "notes": ParseNoteRaw}
    urls = {m.file: REPOSITORY + m.file for m in MATRICES}
    Settings = GawcSettings

    def __init__(self, settings: GawcSettings | None = None) -> None:
        super().__init__(settings)
        listed = [_listed(entry, self.settings) for entry in self.settings.matrices]
        self.matrices = tuple(listed) or MATRICES

    def extract(self, transport: Transport) -> Extracted:
        if not self.settings.matrices:
            return super().extract(transport)
        return fetch_listed(transport, [m.file for m in self.settings.matrices], self.settings,
                            "[[sources.gawc.matrices]] file")

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        frames, notes = [], []
        for matrix in self.matrices:
            read = read_service_matrix(extracted.files[matrix.file], matrix.file, matrix.sheet)
            notes.extend(read.notes)
            frames.append(_long(read, matrix))
        datasets = [
            Dataset(m.dataset_id, m.title, m.url or self.urls[m.file],
                    extracted.last_modified.get(m.file))
            for m in self.matrices
        ]
        return {
            "datasets": self.datasets_frame(datasets),
            "service_values": pd.concat(frames, ignore_index=True),
            "notes": notes_frame(notes),
        }

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        cells = raw["service_values"]
        source_id = self.meta.source_id
        firms = cells.groupby("firm", sort=True)["sector"].first()
        network = pd.DataFrame({
            "network_id": source_id + ":" + firms.index,
            "kind": "firm",
            "name": firms.index,
            "sector": firms.to_numpy(),
            "wikidata_qid": None,
            "source_id": source_id,
        })
        cities = cells.drop_duplicates(["dataset_id", "city"])[
            ["dataset_id", "period", "row", "city", "country"]
        ]
        # Each matrix row is known by where it is, as unresolved rows are reported.
        cities.index = cities["dataset_id"] + " row " + cities["row"].astype(str)
        verdicts = _resolve(cities, registry, self.matrices)
        matched = cities.join(verdicts[verdicts["status"] == "matched"][
            ["city_id", "method", "confidence"]], how="inner")
        members = cells[cells["value"] > 0].merge(
            matched[["dataset_id", "city", "city_id"]], on=["dataset_id", "city"]
        )
        membership = pd.DataFrame({
            "network_id": source_id + ":" + members["firm"],
            "city_id": members["city_id"],
            "period": members["period"],
            "value": members["value"],
            "source_id": source_id,
            "dataset_id": members["dataset_id"],
        })
        alias = matched.sort_values("confidence", ascending=False).drop_duplicates(
            ["city", "city_id"]
        )
        unresolved = cities.join(verdicts[verdicts["status"] != "matched"][
            ["status", "reason"]], how="inner")
        return self.conformed(
            raw,
            network=network,
            membership=membership,
            city_alias=resolve.city_aliases("gawc", alias["city"], alias, source_id),
            unresolved=resolve.unresolved(unresolved.index, unresolved["city"],
                                          unresolved["status"], unresolved["reason"],
                                          ).reset_index(drop=True),
            notes=[
                *raw["notes"]["note"],
                f"{len(matched):,} of {len(cities):,} matrix rows resolved to cities; "
                f"{len(membership):,} memberships of {len(network):,} firms",
            ],
        )


def _long(read: ServiceMatrix, matrix: Matrix) -> pd.DataFrame:
    long = read.values.rename_axis(columns="firm").stack().rename("value").reset_index()
    return long.assign(
        dataset_id=matrix.dataset_id,
        period=matrix.period,
        row=long["city"].map(read.row_of),
        country=None if read.country is None else long["city"].map(read.country),
        sector=None if read.sector is None else long["firm"].map(read.sector),
    )


# "Karaganda (or Qaraghandy)": another spelling, which the matcher reads as another name of the
# city, as in "Al-Qahirah (Cairo)"; any other closing bracket is a qualifier
_OR_SPELLING = re.compile(r"\(\s*or\s+", re.IGNORECASE)
_QUALIFIER = re.compile(r"\((?P<qualifier>[^)]*)\)\s*$")


def qualified_name(city: str) -> tuple[str, str | None]:
    """The name to match and the qualifier after it, if any. The qualifier stays in the name:
    the matcher tells US namesakes apart by a state there ("Kansas City (Missouri)")."""
    if _OR_SPELLING.search(city):
        return _OR_SPELLING.sub("(", city), None
    found = _QUALIFIER.search(city)
    return (city, found["qualifier"].strip()) if found else (city, None)


def _resolve(cities: pd.DataFrame, registry: Registry,
             matrices: tuple[Matrix, ...]) -> pd.DataFrame:
    """One verdict per matrix row (keyed by the index of `cities`). A row's country is its
    Country column, else the country its qualifier names, else any of its matrix's countries;
    a name the qualifier's country does not know is tried there too ("ATLANTA (GEORGIA)" names
    a state, not the country). Rows of one matrix resolving to one city are then reported as
    duplicates."""
    named = cities["city"].map(qualified_name)
    stated = resolve.to_iso2(cities["country"],
                             resolve.country_codes(registry.countries, COUNTRY_NAMES))
    hinted = resolve.to_iso2(named.str[1],
                             resolve.country_codes(registry.countries, COUNTRY_NAMES))
    records = pd.DataFrame({"name": named.str[0], "country": stated.fillna(hinted)})
    unknown = cities["country"].notna() & stated.isna()
    scope = cities["dataset_id"].map({m.dataset_id: m.countries for m in matrices})
    verdicts = _match_in_scope(records[~unknown], scope[~unknown], registry)
    retry = verdicts.index[(verdicts["status"] != "matched")
                           & stated.reindex(verdicts.index).isna()
                           & hinted.reindex(verdicts.index).notna()]
    if len(retry):
        again = _match_in_scope(records.loc[retry].assign(country=None), scope[retry], registry)
        verdicts.loc[again.index[again["status"] == "matched"]] = again
    refused = pd.DataFrame({
        "city_id": None, "method": None, "confidence": 0.0, "status": "unmatched",
        "reason": "country " + cities.loc[unknown, "country"].astype(str) + " is not known",
    }, index=cities.index[unknown])
    verdicts = pd.concat([verdicts, refused]).rename_axis("key").reset_index()
    own = resolve.bears_own_name(verdicts, cities["city"], registry)
    verdicts = resolve.one_record_per_city(
        verdicts, [own, verdicts["confidence"]], what="matrix row",
        within=cities.loc[verdicts["key"], "dataset_id"],
    )
    return verdicts.set_index("key").sort_index()


def _match_in_scope(records: pd.DataFrame, scope: pd.Series, registry: Registry) -> pd.DataFrame:
    """Verdicts by the index of `records`: each distinct name and country matched once, in
    each scope of countries (None: worldwide) its rows are looked for in."""
    keyed = records.assign(key=records["name"] + "|" + records["country"].fillna(""))
    found = []
    for where in dict.fromkeys(scope):
        rows = keyed[scope.map(lambda s, w=where: s == w)]
        verdicts = resolve.match_anywhere(rows.drop_duplicates("key"), registry, where)
        found.append(rows[["key"]].reset_index().merge(verdicts, on="key").set_index("index"))
    return pd.concat(found).drop(columns="key")
