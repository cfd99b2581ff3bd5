"""The small interface every source implements, and the frames it hands to the warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

import pandas as pd
import pandera.pandas as pa

from flows.transport import Transport
from warehouse import checks  # noqa: F401  (registers str_fullmatch for the sources' models)
from warehouse.location import source_urls
from warehouse.parse_error import ParseError as ParseError  # what every source raises


@dataclass(frozen=True)
class SourceMeta:
    source_id: str
    publisher: str
    dataset: str
    url: str
    licence: str
    attribution: str
    # how often the publisher updates the data, in days; None: no regular cadence (a frozen
    # dataset such as OpenFlights' routes, a package, the users' own files)
    cadence_days: int | None = None

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
    # per file, the publisher's Last-Modified where the server stated one
    last_modified: dict[str, str] = field(default_factory=dict)


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
        last_modified={name: f.last_modified for name, f in fetched.items() if f.last_modified},
    )


@dataclass(frozen=True)
class Dataset:
    """One dataset of a source, as observations name it (their dataset_id)."""

    dataset_id: str
    title: str
    url: str
    last_update: str | None = None  # as the publisher states it


def dataset_frame(source_id: str, datasets: list[Dataset]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"source_id": source_id, **d.__dict__} for d in datasets],
        columns=["source_id", "dataset_id", "title", "url", "last_update"],
    )


@dataclass(frozen=True)
class Registry:
    """The canonical cities a source's records resolve to, as the staging warehouse has them."""

    cities: pd.DataFrame  # city_id, name, country_iso2, latitude, longitude, population
    aliases: pd.DataFrame  # alias, city_id (names only)
    countries: pd.DataFrame  # iso2, iso3, iso_numeric, name
    # crosswalks of codes held so far (GeoNames ids of folded districts, Eurostat codes, ...):
    # scheme, alias, city_id, confidence
    codes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["scheme", "alias", "city_id", "confidence"])
    )
    # indicators defined so far: indicator_id, unit, domain, source_id
    indicators: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["indicator_id", "unit", "domain", "source_id"]
        )
    )

    @classmethod
    def read(cls, con) -> Registry:
        """The registry as a warehouse (a DuckDB connection to it) holds it."""
        return cls(
            cities=con.execute(
                "SELECT city_id, name, country_iso2, latitude, longitude, population "
                "FROM city ORDER BY city_id"
            ).df(),
            aliases=con.execute(
                "SELECT alias, city_id FROM city_alias WHERE scheme = 'name'"
            ).df(),
            countries=con.execute("SELECT iso2, iso3, iso_numeric, name FROM country").df(),
            codes=con.execute(
                "SELECT scheme, alias, city_id, confidence FROM city_alias WHERE scheme <> 'name'"
            ).df(),
            indicators=con.execute(
                "SELECT indicator_id, unit, domain, source_id FROM indicator"
            ).df(),
        )


@dataclass
class Conformed:
    """A source's data in the canonical model, one frame per warehouse table it writes.

    Every source names its datasets (`dataset`, see dataset_frame); each observation,
    membership and link row carries the dataset_id it came from. Registry sources (the city
    list itself) also fill city, country and city_alias. Relational sources fill network and
    membership (organisations and their cities) or city_link (air routes, twinning). Records
    that could not be tied to a city go to `unresolved` (key, name, status, reason).
    """

    dataset: pd.DataFrame
    indicator: pd.DataFrame | None = None
    observation: pd.DataFrame | None = None
    network: pd.DataFrame | None = None
    membership: pd.DataFrame | None = None
    city_link: pd.DataFrame | None = None
    city: pd.DataFrame | None = None
    country: pd.DataFrame | None = None
    city_alias: pd.DataFrame | None = None
    unresolved: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


class FromPublisher:
    """A source whose files are named in `urls` (name -> the publisher's URL); each URL can be
    overridden in the config file ([sources.<source_id>.urls])."""

    meta: ClassVar[SourceMeta]
    urls: ClassVar[dict[str, str]]

    def _urls(self) -> dict[str, str]:
        return source_urls(self.meta.source_id, self.urls)


class Source(Protocol):
    meta: ClassVar[SourceMeta]
    # pandera models of the raw frames parse() returns, by frame name
    raw_models: ClassVar[dict[str, type[pa.DataFrameModel]]]

    def extract(self, transport: Transport) -> Extracted: ...

    def parse(self, extracted: Extracted) -> dict[str, pd.DataFrame]: ...

    def conform(self, raw: dict[str, pd.DataFrame], registry: Registry) -> Conformed: ...
