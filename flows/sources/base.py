"""The small interface every source implements, and the frames it hands to the warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

import pandas as pd
import pandera.pandas as pa

from flows.transport import Transport


@dataclass(frozen=True)
class SourceMeta:
    source_id: str
    publisher: str
    dataset: str
    url: str
    licence: str
    attribution: str

    def as_row(self, dataset_version: str | None, retrieved_at: datetime) -> pd.DataFrame:
        return pd.DataFrame(
            [{**self.__dict__, "dataset_version": dataset_version, "retrieved_at": retrieved_at}]
        )


@dataclass(frozen=True)
class Extracted:
    """The bytes a source fetched, by file name, and what is known about their vintage."""

    files: dict[str, bytes]
    dataset_version: str | None
    retrieved_at: datetime


def fetch_all(
    transport: Transport, urls: dict[str, str], dataset_version: str | None = None
) -> Extracted:
    """Fetch every file a source needs through the one transport (HTTP or a mirror)."""
    fetched = {name: transport.get(url) for name, url in urls.items()}
    stated = sorted(f.last_modified for f in fetched.values() if f.last_modified)
    return Extracted(
        files={name: f.content for name, f in fetched.items()},
        dataset_version=dataset_version or (f"last modified {stated[-1]}" if stated else None),
        retrieved_at=min(f.retrieved_at for f in fetched.values()),
    )


@dataclass(frozen=True)
class Registry:
    """The canonical cities a source's records resolve to, as the staging warehouse has them."""

    cities: pd.DataFrame  # city_id, name, country_iso2, latitude, longitude, population
    aliases: pd.DataFrame  # alias, city_id (names only)
    countries: pd.DataFrame  # iso2, iso3, iso_numeric, name


@dataclass
class Conformed:
    """A source's data in the canonical model, one frame per warehouse table it writes.

    Registry sources (the city list itself) also fill city, country and city_alias. Records
    that could not be tied to a city go to `unresolved` (key, name, status, reason).
    """

    indicator: pd.DataFrame
    observation: pd.DataFrame
    city: pd.DataFrame | None = None
    country: pd.DataFrame | None = None
    city_alias: pd.DataFrame | None = None
    unresolved: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


class Source(Protocol):
    meta: ClassVar[SourceMeta]
    # pandera models of the raw frames parse() returns, by frame name
    raw_models: ClassVar[dict[str, type[pa.DataFrameModel]]]

    def extract(self, transport: Transport) -> Extracted: ...

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]: ...

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed: ...
