"""GaWC-style service-value matrices (cities x advanced-producer-service firms, values 0-5):
each firm is a network, each non-zero cell a membership whose value is the service value.

The default matrices are the former-Soviet-Union study "Periphery, Uncertainty and Legacy"
(qullab): 61 cities x 96 firms in 2015, 102 cities x 94 firms in 2018, built with GaWC's
interlocking-network method. Their cities carry no country; they are resolved by name within
the fifteen former Soviet republics the study covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.sources import resolve
from flows.sources.base import Conformed, Extracted, Registry, Source
from flows.sources.parse_notes import ParseNoteRaw, notes_frame
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
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


@dataclass(frozen=True)
class Matrix:
    dataset_id: str
    file: str
    title: str
    period: int  # the year the publisher says the matrix describes
    sheet: str | None  # None: the first sheet
    countries: tuple[str, ...] | None  # where cities named without a country are looked for


MATRICES = (
    Matrix("fsu-2015", "raw_data_2015.xlsx",
           "Service values of APS firms in former-Soviet cities, 2015", 2015, None,
           FORMER_SOVIET_REPUBLICS),
    Matrix("fsu-2018", "raw_data_2018.xlsx",
           "Service values of APS firms in former-Soviet cities, 2018", 2018, "InPut",
           FORMER_SOVIET_REPUBLICS),
)


class ServiceValueRaw(RawModel):
    dataset_id: Series[str] = pa.Field(isin=[m.dataset_id for m in MATRICES])
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

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        frames, notes = [], []
        for matrix in MATRICES:
            read = read_service_matrix(extracted.files[matrix.file], matrix.file, matrix.sheet)
            notes.extend(read.notes)
            frames.append(_long(read, matrix))
        datasets = [self.dataset(extracted, m.file, m.title, m.dataset_id) for m in MATRICES]
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
        verdicts = _resolve(cities, registry)
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


# The FSU files give alternative spellings as "Karaganda (or Qaraghandy)"; without the "or"
# the matcher reads the bracket as another name of the city, as in "Al-Qahirah (Cairo)".
_OR_SPELLING = re.compile(r"\(\s*or\s+", re.IGNORECASE)


def _resolve(cities: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """One verdict per matrix row (keyed by the index of `cities`). Each distinct name is
    matched once, whichever years list it; rows of one matrix resolving to one city are then
    reported as duplicates."""
    records = pd.DataFrame({
        "name": cities["city"].str.replace(_OR_SPELLING, "(", regex=True),
        "country": resolve.to_iso2(cities["country"], resolve.country_codes(registry.countries)),
    })
    records["key"] = records["name"] + "|" + records["country"].fillna("")
    unknown = cities["country"].notna() & records["country"].isna()
    found = []
    for where in dict.fromkeys(m.countries for m in MATRICES):
        ids = [m.dataset_id for m in MATRICES if m.countries == where]
        rows = records[cities["dataset_id"].isin(ids) & ~unknown]
        verdicts = resolve.match_anywhere(rows.drop_duplicates("key"), registry, where)
        found.append(rows[["key"]].reset_index().merge(verdicts, on="key").set_index("index"))
    refused = pd.DataFrame({
        "city_id": None, "method": None, "confidence": 0.0, "status": "unmatched",
        "reason": "country " + cities.loc[unknown, "country"].astype(str) + " is not known",
    }, index=cities.index[unknown])
    verdicts = pd.concat([*found, refused]).drop(columns="key").rename_axis("key").reset_index()
    own = resolve.bears_own_name(verdicts, cities["city"], registry)
    verdicts = resolve.one_record_per_city(
        verdicts, [own, verdicts["confidence"]], what="matrix row",
        within=cities.loc[verdicts["key"], "dataset_id"],
    )
    return verdicts.set_index("key").sort_index()
