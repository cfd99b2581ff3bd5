"""City-network membership tables: which cities belong to C40, ICLEI, the Covenant of Mayors,
Eurocities ... The default tables are ClimActor's (Hsu et al. 2020), in its two published
shapes: one 0/1 column per network (Sept 2020) and one ';'-separated list of networks per
actor (Dec 2022). ClimActor names a network with the year of the list it was read from
("C40Cities2019", "GCoM2022"): each label is read as a network with a readable name and an
edition (flows/sources/climactor_networks.py), so that "C40Cities2019" and "C40Cities2022" are
one network, C40, listed in 2019 and 2022 (the membership's period); a label with no year
takes the year of ClimActor's release.

Only cities are loaded: ClimActor types each actor 'City' or 'Region' (entity_type); regions
(states, provinces, prefectures) are not cities and are left out, as are rows with no type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from flows.sources import resolve
from flows.sources.base import Conformed, Extracted, ParseError, Registry, Source
from flows.sources.climactor_networks import network_of
from flows.sources.parse_notes import ParseNoteRaw, notes_frame
from flows.sources.publishers import publisher_of
from flows.sources.raw_model import RawModel
from warehouse.csv_records import STRAY_BYTE_SHARE, CsvRecords, read_csv_records

REPOSITORY = (
    "https://raw.githubusercontent.com/datadrivenenvirolab/ClimActor/"
    "2b0fb66c8a414bc17ff20232b98b6511eb42cca8/data-raw/"
)
COUNTRY_DICT = "country_dict_Oct2023.csv"
# The actor columns ClimActor documents; in the 0/1 shape every other column is a network.
CONTEXT_COLUMNS = {
    "name", "iso", "entity_type", "country", "region", "area", "initiatives_committed",
    "num_commit", "lat", "lng", "population", "population_year", "state", "admin_1",
}
NEEDED_COLUMNS = ["name", "iso", "entity_type", "country", "lat", "lng"]
# R writes a missing value as NA (and a missing column name as <NA>).
MISSING = {"", "NA", "<NA>"}
_URL = re.compile(r"^https?://", re.IGNORECASE)
# Words that say what an actor is, not which network it joined ('Region' is once listed
# among the Dec 2022 file's initiatives).
_ACTOR_TYPES = {"city", "region"}


@dataclass(frozen=True)
class Roster:
    dataset_id: str
    file: str
    path: str  # under the repository's data-raw/
    title: str
    period: int  # the year of the release the file is named after
    list_column: str | None  # None: one 0/1 column per network


ROSTERS = (
    Roster("climactor-sept2020", "subnational_contextuals_database_initcols_Sept2020.csv",
           "Archive/", "ClimActor, one 0/1 column per network (Sept 2020)", 2020, None),
    Roster("climactor-dec2022", "subnational_contextuals_database_Dec2022.csv", "",
           "ClimActor, networks listed per actor (Dec 2022)", 2022, "initiatives_committed"),
)


class ActorRaw(RawModel):
    dataset_id: Series[str] = pa.Field(isin=[r.dataset_id for r in ROSTERS])
    line: Series[int] = pa.Field(gt=0)
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    iso: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[A-Z]{3}")
    country: Series[str] = pa.Field(nullable=True)
    entity_type: Series[str] = pa.Field(nullable=True)
    latitude: Series[float] = pa.Field(nullable=True, ge=-90, le=90)
    longitude: Series[float] = pa.Field(nullable=True, ge=-180, le=180)

    class Config:
        unique = ["dataset_id", "line"]


class LabelRaw(RawModel):
    """One network label of one actor, with the cell as written (1 in the 0/1 shape)."""

    dataset_id: Series[str]
    line: Series[int] = pa.Field(gt=0)
    label: Series[str] = pa.Field(str_length={"min_value": 1})
    value: Series[str] = pa.Field(isin=["1", "1.0"])


class CountryNameRaw(RawModel):
    wrong: Series[str] = pa.Field(str_length={"min_value": 1})
    right: Series[str] = pa.Field(str_length={"min_value": 1})
    iso2: Series[str] = pa.Field(nullable=True, str_fullmatch=r"[A-Z]{2}")


class ClimActor(Source):
    meta = publisher_of("climactor")
    raw_models = {"actors": ActorRaw, "labels": LabelRaw, "country_names": CountryNameRaw,
                  "notes": ParseNoteRaw}
    urls = {
        **{r.file: REPOSITORY + r.path + r.file for r in ROSTERS},
        COUNTRY_DICT: REPOSITORY + COUNTRY_DICT,
    }

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]:
        actors, labels, notes = [], [], []
        for roster in ROSTERS:
            table = _table(_records(extracted.files[roster.file], roster.file, notes), roster)
            actors.append(_actors(table, roster))
            labels.append(_labels(table, roster))
        datasets = [self.dataset(extracted, r.file, r.title, r.dataset_id) for r in ROSTERS]
        return {
            "datasets": self.datasets_frame(datasets),
            "actors": pd.concat(actors, ignore_index=True),
            "labels": pd.concat(labels, ignore_index=True),
            "country_names": _country_names(extracted.files[COUNTRY_DICT], notes),
            "notes": notes_frame(notes),
        }

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed:
        source_id = self.meta.source_id
        actors = raw["actors"].set_index(
            raw["actors"]["dataset_id"] + " line " + raw["actors"]["line"].astype(str)
        )
        cities = actors[actors["entity_type"].str.casefold().eq("city").fillna(False)]
        verdicts = resolve_cities(cities, raw["country_names"], registry)
        matched = verdicts[verdicts["status"] == "matched"]

        labels = raw["labels"].assign(
            key=raw["labels"]["dataset_id"] + " line " + raw["labels"]["line"].astype(str),
            network=raw["labels"]["label"].map(network_names),
        ).explode("network").dropna(subset=["network"])
        read = labels["network"].map(network_of)
        databases = int(read.isna().sum())
        labels = labels[read.notna()].assign(
            network=read.dropna().str[0],
            edition=read.dropna().str[1].astype("Int64"))
        members = labels.merge(matched[["city_id"]], left_on="key", right_index=True)
        members = members.assign(period=members["edition"].fillna(
            members["dataset_id"].map({r.dataset_id: r.period for r in ROSTERS})).astype(int))
        membership = pd.DataFrame({
            "network_id": source_id + ":" + members["network"],
            "city_id": members["city_id"],
            "period": members["period"],
            "value": 1.0,
            "source_id": source_id,
            "dataset_id": members["dataset_id"],
        }).drop_duplicates(["network_id", "city_id", "period"])
        names = sorted(labels["network"].unique())
        network = pd.DataFrame({
            "network_id": [f"{source_id}:{n}" for n in names],
            "kind": "city-network",
            "name": names,
            "sector": None,
            "wikidata_qid": None,
            "source_id": source_id,
        })
        # A city listed with no network loses nothing by staying unresolved: not reported.
        listed = verdicts.index.isin(labels["key"])
        lost = verdicts[(verdicts["status"] != "matched") & listed]
        not_networks = raw["labels"]["label"].map(network_names).str.len().eq(0).sum()
        return self.conformed(
            raw,
            network=network,
            membership=membership,
            # the records to resolve are the cities listed with a network, not every label
            records=int(listed.sum()),
            unresolved=resolve.unresolved(lost.index, cities.loc[lost.index, "name"],
                                          lost["status"], lost["reason"]).reset_index(drop=True),
            notes=[
                *raw["notes"]["note"],
                f"{len(actors) - len(cities):,} actors that are not cities (regions, or no "
                f"type) left out",
                f"{len(matched):,} of {len(cities):,} cities resolved; {len(lost):,} "
                f"unresolved cities with networks reported",
                f"{not_networks:,} labels that name no network (links, actor types) skipped",
                f"{databases:,} labels of a database ClimActor read, not a network, skipped",
                f"{len(network):,} networks, each under one name (editions as periods)",
            ],
        )


def network_names(label: str) -> list[str]:
    """The networks one ClimActor label names: some labels list several, comma-separated
    ('Sveriges Ekokommuner,EuroCities')."""
    names = [part.strip() for part in str(label).split(",")]
    return [n for n in names if n and not _URL.match(n) and n.casefold() not in _ACTOR_TYPES]


def read_roster(content: bytes, roster: Roster) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The actors of one membership table, their network labels (either shape), and how many
    bytes were not UTF-8."""
    records = _records(content, roster.file, [])
    table = _table(records, roster)
    return _actors(table, roster), _labels(table, roster), records.foreign_bytes


def _records(content: bytes, file: str, notes: list[str]) -> CsvRecords:
    # R ends every line it writes: a last line without an end is a download cut short.
    records = read_csv_records(content, file, stray_bytes=STRAY_BYTE_SHARE, final_line_end=True)
    if records.foreign_bytes:  # ClimActor's Dec 2022 file has a few Mac Roman no-break spaces
        notes.append(f"{file}: {records.foreign_bytes} byte(s) that are not UTF-8 read as "
                     "U+FFFD")
    return records


def _table(records: CsvRecords, roster: Roster) -> pd.DataFrame:
    header = [h.strip() for h in records.rows[0]]
    needed = NEEDED_COLUMNS + ([roster.list_column] if roster.list_column else [])
    absent = [c for c in needed if c not in header]
    if absent:
        raise ParseError(roster.file, "line 1", f"the columns {', '.join(needed)}",
                         f"no {', '.join(absent)}")
    table = pd.DataFrame(records.rows[1:], columns=header, dtype=object)
    table["line"] = records.lines[1:]
    return table


def _cells(column: pd.Series) -> pd.Series:
    stripped = column.str.strip()
    return stripped.where(~stripped.isin(MISSING))


def _actors(table: pd.DataFrame, roster: Roster) -> pd.DataFrame:
    return pd.DataFrame({
        "dataset_id": roster.dataset_id,
        "line": table["line"],
        "name": _cells(table["name"]),
        "iso": _cells(table["iso"]),
        "country": _cells(table["country"]),
        "entity_type": _cells(table["entity_type"]),
        "latitude": _cells(table["lat"]),
        "longitude": _cells(table["lng"]),
    })


def _labels(table: pd.DataFrame, roster: Roster) -> pd.DataFrame:
    if roster.list_column is None:
        columns = [c for c in table.columns if c not in CONTEXT_COLUMNS and c != "line"]
        cells = table[columns].apply(_cells)
        cells.columns = ["" if c in MISSING else c for c in columns]
        zero = cells.apply(pd.to_numeric, errors="coerce").eq(0)
        row, column = np.nonzero((cells.notna() & ~zero).to_numpy())
        return pd.DataFrame({
            "dataset_id": roster.dataset_id,
            "line": table["line"].to_numpy()[row],
            "label": cells.columns[column],
            "value": cells.to_numpy()[row, column],
        })
    items = _cells(table[roster.list_column]).str.split(";")
    long = pd.DataFrame({"line": table["line"], "label": items}).explode("label")
    long["label"] = long["label"].str.strip()
    long = long[long["label"].notna() & ~long["label"].isin(MISSING)]
    # The Dec 2022 lists repeat some labels ('NAZCA2020;...;NAZCA2020'): one membership.
    long = long.drop_duplicates(["line", "label"])
    return long.assign(dataset_id=roster.dataset_id, value="1")


def _country_names(content: bytes, notes: list[str]) -> pd.DataFrame:
    records = _records(content, COUNTRY_DICT, notes)
    table = pd.DataFrame(records.rows[1:], columns=[h.strip() for h in records.rows[0]])
    absent = [c for c in ("wrong", "right", "iso2") if c not in table.columns]
    if absent:
        raise ParseError(COUNTRY_DICT, "line 1", "the columns wrong, right, iso2",
                         f"no {', '.join(absent)}")
    # Namibia's ISO2 is NA: here only an empty cell is missing.
    return table[["wrong", "right", "iso2"]].replace({"": None})


def resolve_cities(cities: pd.DataFrame, country_names: pd.DataFrame,
                   registry: Registry) -> pd.DataFrame:
    """One verdict per city row (keyed by its index); ClimActor's ISO3 code first, then its
    country name as its own dictionary corrects it."""
    spellings = {
        **dict(zip(country_names["wrong"], country_names["iso2"], strict=True)),
        **dict(zip(country_names["right"], country_names["iso2"], strict=True)),
    }
    lookup = resolve.country_codes(registry.countries,
                                   {k: v for k, v in spellings.items() if pd.notna(v)})
    country = resolve.to_iso2(cities["iso"], lookup).fillna(
        resolve.to_iso2(cities["country"], lookup))
    records = pd.DataFrame({
        "key": cities.index,
        "name": cities["name"],
        "country": country,
        "latitude": cities["latitude"],
        "longitude": cities["longitude"],
    })
    verdicts = resolve.match_anywhere(records, registry)
    own = resolve.bears_own_name(verdicts, cities["name"], registry)
    verdicts = resolve.one_record_per_city(
        verdicts, [own, verdicts["confidence"]], what="row",
        within=cities.loc[verdicts["key"], "dataset_id"], also_keep=own,
    )
    return verdicts.set_index("key")
